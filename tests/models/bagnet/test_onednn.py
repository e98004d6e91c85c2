"""oneDNN on for training: the BagNet's strided 1x1 shortcut avoids oneDNN's broken kernel (same
numbers), and same-seed runs stay identical. (Which processes turn oneDNN on, and when:
tests/cli/test_startup.py.)"""

import os
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

from saccader_tf.models.bagnet import BagNetBottleneck
from tests.support.paths import REPO_ROOT, SUPPORT_DIR


def _python(code_or_args, onednn):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *code_or_args], env=env, capture_output=True, text=True, timeout=300
    )


class ShortcutTest(tf.test.TestCase):
    def test_strided_projection_equals_strided_conv(self):
        """Few input channels: "every s-th cell, then 1x1 stride 1" gives the strided conv's
        numbers exactly, forward and backward (odd and even sizes)."""
        for size, channels in ((11, 8), (12, 4)):
            block = BagNetBottleneck(filters=4, kernel_size=3, strides=2)
            block.build((2, size, size, channels))
            x = tf.random.stateless_normal((2, size - 2, size - 2, channels), seed=(3, size))
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                ours = block._project(x)
                reference = block.shortcut_conv(x)
            self.assertEqual(ours.shape, (2, (size - 3) // 2 + 1, (size - 3) // 2 + 1, 16))
            self.assertAllEqual(ours, reference)
            kernel = block.shortcut_conv.kernel
            self.assertAllEqual(tape.gradient(ours, kernel), tape.gradient(reference, kernel))
            self.assertAllEqual(tape.gradient(ours, x), tape.gradient(reference, x))

    def test_sixteen_channels_use_the_layer(self):
        block = BagNetBottleneck(filters=8, kernel_size=1, strides=2)
        block.build((1, 6, 6, 16))
        x = keras.ops.ones((1, 6, 6, 16))
        self.assertAllEqual(block._project(x), block.shortcut_conv(x))


@pytest.mark.slow
class OneDNNTrainingTest(tf.test.TestCase):
    def test_former_crash_shape_trains_and_repeats_bit_for_bit(self):
        """oneDNN on: the shape that corrupted the heap trains; the same seed twice gives the
        same weights (same machine, same thread settings)."""
        digests = []
        for _ in range(2):
            run = _python([os.path.join(SUPPORT_DIR, "onednn_step.py"), "1"], "1")
            self.assertEqual(run.returncode, 0, run.stderr[-3000:])
            digests.append(run.stdout.split()[-1])
        self.assertEqual(digests[0], digests[1])
