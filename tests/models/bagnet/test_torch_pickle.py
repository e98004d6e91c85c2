"""Reading `torch.save` files without torch: both formats, strided and shared tensors, dtypes, and
files that must be refused (pickled code, whole models, damaged files)."""

import collections
import os
import tarfile
import tempfile
import unittest

import numpy as np
import torch

from saccader_tf.models.bagnet.torch_pickle import read_torch_file
from saccader_tf.models.bagnet.weight_errors import WeightsFileError
from saccader_tf.utils.errors import UserError

FORMATS = {"zip": True, "legacy": False}


class _MakesADirectory:
    """Pickles as a call of `os.mkdir(path)`: reading it must not create `path`."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class TorchPickleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def save(self, obj, zip_format, name="w.pth"):
        path = os.path.join(self.dir.name, name)
        torch.save(obj, path, _use_new_zipfile_serialization=zip_format)
        return path

    def test_both_formats_give_the_tensors_values_shapes_and_dtypes(self):
        base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
        state = collections.OrderedDict(
            permuted=base.permute(2, 0, 1),  # strides (1, 12, 4) into a shared storage
            sliced=base[1, :, 1:3],  # an offset of 13 and a stride of 4
            same_storage=base,
            half=torch.tensor([1.5, -2.0], dtype=torch.float16),
            bf16=torch.tensor([1.5, -2.25, 3.0], dtype=torch.bfloat16),
            count=torch.tensor(7),
            flags=torch.tensor([True, False]),
            empty=torch.zeros(0, 3),
        )
        expected = {
            "permuted": np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1),
            "sliced": np.array([[13, 14], [17, 18], [21, 22]], np.float32),
            "same_storage": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
            "half": np.array([1.5, -2.0], np.float16),
            "bf16": np.array([1.5, -2.25, 3.0], np.float32),
            "count": np.array(7, np.int64),
            "flags": np.array([True, False]),
            "empty": np.zeros((0, 3), np.float32),
        }
        for name, zip_format in FORMATS.items():
            with self.subTest(format=name):
                loaded = read_torch_file(self.save(state, zip_format))
                self.assertIsInstance(loaded, collections.OrderedDict)
                self.assertEqual(list(loaded), list(expected))
                for key, value in expected.items():
                    self.assertEqual(loaded[key].dtype, value.dtype, key)
                    np.testing.assert_array_equal(loaded[key], value, err_msg=key)

    def test_nested_checkpoint_dicts_and_parameters(self):
        weight = torch.nn.Parameter(torch.tensor([[1.0, 2.0]]))
        checkpoint = {"epoch": 3, "state_dict": {"fc.weight": weight}, "names": ["a", "b"]}
        for name, zip_format in FORMATS.items():
            with self.subTest(format=name):
                loaded = read_torch_file(self.save(checkpoint, zip_format))
                self.assertEqual(loaded["epoch"], 3)
                self.assertEqual(loaded["names"], ["a", "b"])
                np.testing.assert_array_equal(loaded["state_dict"]["fc.weight"], [[1.0, 2.0]])

    def test_pickled_code_is_refused_and_never_runs(self):
        target = os.path.join(self.dir.name, "made_by_the_file")
        for name, zip_format in FORMATS.items():
            with self.subTest(format=name):
                path = self.save({"w": torch.ones(1), "x": _MakesADirectory(target)}, zip_format)
                with self.assertRaisesRegex(WeightsFileError, r"holds pickled `\w+\.mkdir`"):
                    read_torch_file(path)
                self.assertFalse(os.path.exists(target))

    def test_a_whole_pickled_model_is_refused_with_the_fix(self):
        for name, zip_format in FORMATS.items():
            with self.subTest(format=name):
                path = self.save(torch.nn.Linear(2, 2), zip_format)
                with self.assertRaisesRegex(WeightsFileError, r"state_dict\(\)"):
                    read_torch_file(path)

    def test_damaged_files_give_one_line_user_errors(self):
        good = self.save({"w": torch.ones(100)}, False, "good.pth")
        with open(good, "rb") as f:
            data = f.read()
        cases = {
            "cut.pth": data[:-20],
            "junk.pth": b"certainly not a pickle",
            "empty.pth": b"",
        }
        for name, content in cases.items():
            with self.subTest(file=name):
                path = os.path.join(self.dir.name, name)
                with open(path, "wb") as f:
                    f.write(content)
                with self.assertRaises(UserError) as caught:
                    read_torch_file(path)
                self.assertIn(path, str(caught.exception))
                self.assertNotIn("\n", str(caught.exception))

    def test_the_old_tar_format_is_named(self):
        path = os.path.join(self.dir.name, "old.pth.tar")
        with tarfile.open(path, "w") as archive:
            archive.add(self.save({"w": torch.ones(1)}, True), arcname="pickle")
        with self.assertRaisesRegex(WeightsFileError, "tar format"):
            read_torch_file(path)


if __name__ == "__main__":
    unittest.main()
