"""State dicts from `.npz`, `.safetensors` (written by the `safetensors` package) and dicts:
checkpoint wrappers, the `module.` prefix of DataParallel, and the errors."""

import os
import tempfile
import unittest

import numpy as np
import safetensors.numpy
import safetensors.torch
import torch

from saccader_tf.models.bagnet.state_dict_files import load_state_dict
from saccader_tf.models.bagnet.weight_errors import WeightsFileError
from saccader_tf.utils.errors import MissingFileError

STATE = {
    "conv1.weight": np.arange(12, dtype=np.float32).reshape(3, 1, 2, 2),
    "bn1.num_batches_tracked": np.array(5, np.int64),
    "fc.bias": np.array([0.5, -1.5], np.float16),
}


class StateDictFilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def assert_state(self, loaded, expected=STATE):
        self.assertEqual(sorted(loaded), sorted(expected))
        for key, value in expected.items():
            self.assertEqual(loaded[key].dtype, value.dtype, key)
            np.testing.assert_array_equal(loaded[key], value, err_msg=key)

    def test_npz_and_safetensors_files(self):
        np.savez(self.path("w.npz"), **STATE)
        safetensors.numpy.save_file(STATE, self.path("w.safetensors"))
        for name in ("w.npz", "w.safetensors"):
            with self.subTest(file=name):
                loaded, label = load_state_dict(self.path(name))
                self.assert_state(loaded)
                self.assertEqual(label, self.path(name))

    def test_safetensors_bfloat16_is_widened_to_float32(self):
        values = torch.tensor([1.5, -2.25, 1024.0], dtype=torch.bfloat16)
        safetensors.torch.save_file({"w": values}, self.path("bf16.safetensors"))
        loaded, _ = load_state_dict(self.path("bf16.safetensors"))
        self.assertEqual(loaded["w"].dtype, np.float32)
        np.testing.assert_array_equal(loaded["w"], [1.5, -2.25, 1024.0])

    def test_checkpoint_wrappers_and_data_parallel_prefix(self):
        prefixed = {f"module.{k}": v for k, v in STATE.items()}
        for wrapper in ("state_dict", "model_state_dict", "model"):
            with self.subTest(wrapper=wrapper):
                loaded, label = load_state_dict({wrapper: prefixed, "epoch": 90, "arch": "x"})
                self.assert_state(loaded)
                self.assertEqual(label, "the given state dict")

    def test_a_prefix_that_only_some_keys_have_is_kept(self):
        state = {"module.a": np.ones(1), "b": np.zeros(1)}
        self.assertEqual(sorted(load_state_dict(state)[0]), ["b", "module.a"])

    def test_torch_tensors_in_a_dict(self):
        loaded, _ = load_state_dict({k: torch.from_numpy(v) for k, v in STATE.items()})
        self.assert_state(loaded)

    def test_errors_name_the_file_and_the_fix(self):
        with self.assertRaisesRegex(MissingFileError, "nowhere.pth does not exist"):
            load_state_dict(self.path("nowhere.pth"))
        with open(self.path("bad.npz"), "wb") as f:
            f.write(b"not a zip")
        with self.assertRaisesRegex(WeightsFileError, "bad.npz is no readable .npz"):
            load_state_dict(self.path("bad.npz"))
        with open(self.path("bad.safetensors"), "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
        with self.assertRaisesRegex(WeightsFileError, "bad.safetensors is no readable"):
            load_state_dict(self.path("bad.safetensors"))
        with self.assertRaisesRegex(WeightsFileError, "'epoch' is a str, not a tensor"):
            load_state_dict({"epoch": "ninety"})
        torch.save([torch.ones(1)], self.path("list.pth"))
        with self.assertRaisesRegex(WeightsFileError, "holds a list, not a state dict"):
            load_state_dict(self.path("list.pth"))


if __name__ == "__main__":
    unittest.main()
