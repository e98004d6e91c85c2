"""`read_bagnet_weights` reads a converted `.weights.h5` back into the state dict it came from
(the inverse of the import's transposes), and names the file's SHA-256."""

import hashlib

import numpy as np
import torch

from saccader_tf.cli.convert import convert
from saccader_tf.run.pretrained_start import read_bagnet_weights
from tests.support.torch_bagnet import TorchBagNet


def test_a_converted_file_gives_back_the_state_dict(tmp_path):
    torch.manual_seed(3)
    state = {k: t.numpy() for k, t in TorchBagNet("bagnet9", 4).state_dict().items()}
    np.savez(tmp_path / "b.npz", **state)
    output = str(tmp_path / "b9.weights.h5")
    convert("bagnet_pytorch", "bagnet9", str(tmp_path / "b.npz"), output)
    read, preprocessing = read_bagnet_weights(output, "bagnet9")
    used = {k for k in state if not k.endswith("num_batches_tracked")}
    assert set(read) == used
    for key in used:
        np.testing.assert_array_equal(read[key], state[key], err_msg=key)
    with open(output, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert preprocessing["weights"] == {"file": output, "sha256": digest, "variant": "bagnet9"}
    np.testing.assert_allclose(preprocessing["mean"], [0.485, 0.456, 0.406])
