"""Kill-and-resume on an image-folder source ends with the weights of an uninterrupted run.

The folder holds the built-in cluttered MNIST written as PNG files (48 training images, 28 px),
read with the default `light` recipe, whose random shifts are drawn per epoch and position: a
resumed epoch skips its first slots before decoding and must see exactly the batches and shifts an
uninterrupted run sees. Run on the decode-once cache (the default for a small folder); the streamed
pipeline gives the same batches (tests/data/test_data_folder_paths.py).
"""

import os
import signal

import pytest
import tensorflow as tf

from saccader_tf.data.write_folder import write_cluttered_mnist_folder
from tests.support.launcher_runs import report as _report
from tests.support.launcher_runs import run as _run
from tests.support.launcher_runs import weights as _weights


@pytest.mark.slow
class FolderResumeTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = os.path.join(
            os.environ.get("TEST_TMPDIR", "/tmp"), f"folder_resume_{os.getpid()}"
        )
        cls.folder = os.path.join(cls.root, "images")
        write_cluttered_mnist_folder(
            cls.folder, image_size=28, num_train=48, num_eval=8, seed=1, progress=False
        )

    def test_killed_stage1_resumes_exactly(self):
        for cache in ("memory",):
            env = dict(SOURCE_FOLDER=self.folder, SOURCE_CACHE=cache)
            reference_dir = os.path.join(self.root, f"reference_{cache}")
            reference = _run(reference_dir, stages="1", **env)
            self.assertEqual(reference.returncode, 0, reference.stderr[-3000:])
            self.assertEqual(
                _report(reference.stdout)["stage1"],
                {"steps": 18, "resumed_from": 0, "epochs_run": [0, 1, 2]},
            )  # 48 // 8 = 6 per epoch
            model_dir = os.path.join(self.root, f"killed_{cache}")
            killed = _run(model_dir, "1:10", stages="1", **env)
            self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr[-3000:])
            resumed = _run(model_dir, stages="1", **env)
            self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
            self.assertEqual(
                _report(resumed.stdout)["stage1"],
                {"steps": 18, "resumed_from": 8, "epochs_run": [1, 2]},
            )
            self.assertNotIn("no addressable epochs", resumed.stderr)  # no inexact fall-back
            for a, b in zip(_weights(model_dir), _weights(reference_dir)):
                self.assertAllClose(a, b, atol=1e-6, rtol=0)
