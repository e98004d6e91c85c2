"""`--bagnet_weights` through the launcher, on a small RGB image folder and bagnet9 state dicts
made here (random PyTorch BagNets, no download): imported as stage 1 (`--stage=2`, then
`--stage=3` without the flag), fine-tuned with other classes (`--stage=1`), and refused as stage 1
when the classes differ. Stage 1's file is checked against the state dict itself (kernels
transposed to Keras' layout), and the origin and preprocessing records against the file's hash and
the ImageNet statistics. The launcher runs in this process (`launcher.main` on the parsed command
line): the bagnet9 graphs are built without a second TensorFlow start."""

import hashlib
import json
import os
import types

import numpy as np
import pytest
import torch

from saccader_tf.model_dir.model_config import model_from_config
from tests.support.image_folder_fixture import write_random_image_folder
from tests.support.launcher_flags import launch_in_process
from tests.support.torch_bagnet import TorchBagNet

FLAGS = [
    "--model=bagnet9",
    "--image_size=64",
    "--batch_size=4",
    "--epochs=1",
    "--steps=1",
    "--eval_steps=1",
    "--num_glimpses=2",
    "--num_targets=2",
]


def _launch(folder, model_dir, *flags):
    code, stdout, stderr = launch_in_process(
        f"--dataset=folder:{folder}", *FLAGS, f"--model_dir={model_dir}", *flags
    )
    return types.SimpleNamespace(returncode=code, stdout=stdout, stderr=stderr)


def _state(num_classes, path, seed):
    torch.manual_seed(seed)
    state = {k: t.numpy() for k, t in TorchBagNet("bagnet9", num_classes).state_dict().items()}
    np.savez(path, **state)
    return state


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _json(path):
    with open(path) as f:
        return json.load(f)


def _stage1_bagnet(model_dir):
    model = model_from_config(_json(os.path.join(model_dir, "model_config.json")))
    model.build()
    model.load_weights(os.path.join(model_dir, "stage1", "saccader.weights.h5"))
    return model.representation


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrained")
    folder = write_random_image_folder(
        str(root / "images"), train=8, val=4, height=70, width=90, num_classes=2
    )
    two, five = str(root / "two.npz"), str(root / "five.npz")
    return root, folder, (two, _state(2, two, 0)), (five, _state(5, five, 1))


@pytest.mark.slow
def test_imported_stage1_then_stages_2_and_3(files):
    root, folder, (path, state), _ = files
    model_dir = str(root / "imported")
    run = _launch(folder, model_dir, "--stage=2", f"--bagnet_weights={path}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"stage 1: imported {path}" in run.stdout
    origin = _json(os.path.join(model_dir, "stage1", "origin.json"))
    assert origin == {
        "how": "imported",
        "file": path,
        "sha256": _sha256(path),
        "variant": "bagnet9",
    }
    bagnet = _stage1_bagnet(model_dir)
    assert bagnet.shortcut_crop == "bottom_right" and bagnet.stem_bn_momentum == 0.999
    np.testing.assert_array_equal(
        bagnet.get_layer("stem_conv3x3").kernel.numpy(),
        np.transpose(state["conv2.weight"], (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(
        bagnet.get_layer("group3_block1").shortcut_conv.kernel.numpy(),
        np.transpose(state["layer3.0.downsample.0.weight"], (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(
        bagnet.get_layer("group4_block3").bn3.moving_variance.numpy(),
        state["layer4.2.bn3.running_var"],
    )
    np.testing.assert_array_equal(
        bagnet.get_layer("patch_logits").kernel.numpy()[0, 0], state["fc.weight"].T
    )
    record = _json(os.path.join(model_dir, "preprocessing.json"))
    assert record["channels"] == 3 and record["recipe"] == "imagenet"
    np.testing.assert_allclose(record["mean"], [0.485, 0.456, 0.406])
    np.testing.assert_allclose(record["std"], [0.229, 0.224, 0.225])
    assert record["class_names"] == ["c0", "c1"]
    stage2_parent = _json(os.path.join(model_dir, "stage2", "parent.json"))
    stage1_file = os.path.join(model_dir, "stage1", "saccader.weights.h5")
    assert stage2_parent == {"parent_stage": 1, "parent_sha256": _sha256(stage1_file)}

    run = _launch(folder, model_dir, "--stage=3")  # no flag: the record keeps the layout
    assert run.returncode == 0, run.stderr[-3000:]
    assert os.path.exists(os.path.join(model_dir, "stage3", "saccader.weights.h5"))
    config = _json(os.path.join(model_dir, "model_config.json"))
    assert config["bagnet_kwargs"]["shortcut_crop"] == "bottom_right"


@pytest.mark.slow
def test_other_classes_fine_tune_stage1_with_a_fresh_head_and_refuse_the_import(files):
    root, folder, _, (path, state) = files
    refused = _launch(folder, str(root / "refused"), "--stage=2", f"--bagnet_weights={path}")
    assert refused.returncode == 2, refused.stderr[-3000:]
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "classifies 5 classes" in lines[0], refused.stderr[-3000:]
    assert f"--stage=1 --bagnet_weights={path}" in lines[0]
    assert not os.path.exists(os.path.join(root, "refused", "stage1", "saccader.weights.h5"))

    model_dir = str(root / "fine_tuned")
    flags = ("--stage=1", f"--bagnet_weights={path}", "--learning_rate=1e-30", "--weight_decay=0")
    run = _launch(folder, model_dir, *flags)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (
        "features loaded; the logits layer is fresh (2 classes here, 5 in the file)" in run.stdout
    )
    origin = _json(os.path.join(model_dir, "stage1", "origin.json"))
    assert origin["how"] == "fine-tuned from" and origin["sha256"] == _sha256(path)
    bagnet = _stage1_bagnet(model_dir)
    # A learning rate of 1e-30 leaves the kernels where the file put them.
    np.testing.assert_allclose(
        bagnet.get_layer("group2_block1").conv2.kernel.numpy(),
        np.transpose(state["layer2.0.conv2.weight"], (2, 3, 1, 0)),
        atol=1e-7,
    )
    assert bagnet.get_layer("patch_logits").kernel.shape == (1, 1, 2048, 2)
