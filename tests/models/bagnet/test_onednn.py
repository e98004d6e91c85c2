"""oneDNN on for training: the variable is set only when the user has not, the BagNet's strided
1x1 shortcut avoids oneDNN's broken kernel (same numbers), and same-seed runs stay identical."""

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


class VariableTest(tf.test.TestCase):
    def test_training_entry_points_only(self):
        from saccader_tf import onednn_default

        self.assertEqual(onednn_default(["python", "-m", "saccader_tf.launch", "--stage=1"]), "1")
        self.assertEqual(onednn_default(["python", "-m", "benchmarks", "--quick"]), "1")
        self.assertEqual(onednn_default(["python", "-m", "serve", "saccader_tf.launch"]), "0")
        self.assertEqual(onednn_default(["python", "server.py"]), "0")
        self.assertEqual(onednn_default([]), "0")

    def test_launcher_sets_it_only_when_the_user_has_not(self):
        """A fresh interpreter whose command line is `python -m saccader_tf.launch` (as
        `sys.orig_argv` shows it) gets "1" unless the variable was set; a plain `import
        saccader_tf` keeps the reference kernels (`test_training_entry_points_only`)."""
        code = [
            "-c",
            "import os, sys; sys.orig_argv = ['python', '-m', 'saccader_tf.launch']; "
            "import saccader_tf; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])",
        ]
        for given, expected in ((None, "1"), ("0", "0")):
            run = _python(code, given)
            self.assertEqual(run.returncode, 0, run.stderr[-2000:])
            self.assertEqual(run.stdout.split()[-1], expected)


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


class SamplingTest(tf.test.TestCase):
    def test_same_draws_as_tfp_categorical(self):
        import tensorflow_probability as tfp

        from saccader_tf.models.saccader.cell import sample_categorical

        logits = tf.random.stateless_normal((6, 49), seed=(5, 6))
        for seed in ((3, 9), (0, 1), (7, 123)):
            seed = tf.constant(seed, tf.int32)
            expected = tfp.distributions.Categorical(logits=logits, dtype=tf.int32).sample(
                seed=seed
            )
            self.assertAllEqual(sample_categorical(logits, seed), expected)
