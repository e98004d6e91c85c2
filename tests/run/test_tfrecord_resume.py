"""Kill-and-resume on TFRecord shards ends with the weights of an uninterrupted run.

The shards hold the built-in cluttered MNIST written as PNG files (48 training images, 28 px) and
converted by `write_tfrecords`, read with the `imagenet` recipe (random crops and flips drawn per
epoch and position): a resumed epoch re-reads the seeded shard order and shuffle, skips its first
records before decoding, and must see exactly the batches an uninterrupted run sees.
"""

import os
import signal

import pytest
import tensorflow as tf

from saccader_tf.data.write_folder import write_cluttered_mnist_folder
from tests.support.launcher_runs import report as _report
from tests.support.launcher_runs import run as _run
from tests.support.launcher_runs import weights as _weights
from tests.support.tfrecord_fixture import write_shards


@pytest.mark.slow
class TfrecordResumeTest(tf.test.TestCase):
    def test_killed_stage1_resumes_exactly(self):
        root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"tfrecord_resume_{os.getpid()}")
        folder = os.path.join(root, "images")
        write_cluttered_mnist_folder(
            folder, image_size=28, num_train=48, num_eval=8, seed=1, progress=False
        )
        env = dict(SOURCE_TFRECORD=write_shards(folder, os.path.join(root, "shards"), shards=3))
        reference_dir = os.path.join(root, "reference")
        reference = _run(reference_dir, stages="1", **env)
        self.assertEqual(reference.returncode, 0, reference.stderr[-3000:])
        self.assertEqual(
            _report(reference.stdout)["stage1"],
            {"steps": 18, "resumed_from": 0, "epochs_run": [0, 1, 2]},
        )  # 48 // 8 = 6 per epoch
        model_dir = os.path.join(root, "killed")
        killed = _run(model_dir, "1:10", stages="1", **env)
        self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr[-3000:])
        resumed = _run(model_dir, stages="1", **env)
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        self.assertEqual(
            _report(resumed.stdout)["stage1"],
            {"steps": 18, "resumed_from": 8, "epochs_run": [1, 2]},
        )
        self.assertNotIn("no addressable epochs", resumed.stderr)
        for a, b in zip(_weights(model_dir), _weights(reference_dir)):
            self.assertAllClose(a, b, atol=1e-6, rtol=0)
