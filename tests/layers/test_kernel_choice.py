"""The CPU batch-norm substitute runs only where chosen: by default without a GPU or TPU."""

from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.layers import kernel_choice
from saccader_tf.layers.fused_batch_norm import BatchNormalization

GPU = mock.patch.object(kernel_choice, "accelerators", return_value=["/device:GPU:0"])


def _refuse(*args, **kwargs):
    raise AssertionError("the CPU substitute ran")


class KernelChoiceTest(tf.test.TestCase):
    def tearDown(self):
        kernel_choice.set_kernels("auto")
        super().tearDown()

    def test_auto_follows_the_devices_and_says_why(self):
        kernel_choice.set_kernels("auto")  # this machine: CPU only
        self.assertTrue(kernel_choice.cpu_kernels())
        self.assertRegex(kernel_choice.choice_line(), r"^kernels: CPU substitute .*no GPU or TPU")
        with GPU:
            kernel_choice.set_kernels("auto")
            self.assertFalse(kernel_choice.cpu_kernels())
            self.assertRegex(
                kernel_choice.choice_line(),
                r"^kernels: Keras's standard .*\(/device:GPU:0 visible; --kernels=cpu",
            )
            kernel_choice.set_kernels("cpu")
            self.assertTrue(kernel_choice.cpu_kernels())
            self.assertIn("(--kernels=cpu)", kernel_choice.choice_line())
        kernel_choice.set_kernels("standard")
        self.assertFalse(kernel_choice.cpu_kernels())
        with self.assertRaisesRegex(ValueError, "mode"):
            kernel_choice.set_kernels("gpu")

    def test_batch_norm_runs_keras_on_gpus_with_the_same_result(self):
        x = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype("float32")
        ours, reference = BatchNormalization(), keras.layers.BatchNormalization()
        for layer in (ours, reference):
            layer.build(x.shape)
        kernel_choice.set_kernels("standard")
        with mock.patch.object(tf.compat.v1.nn, "fused_batch_norm", _refuse):
            self.assertAllClose(ours(x, training=True), reference(x, training=True), atol=1e-5)
            self.assertAllClose(ours.moving_variance, reference.moving_variance, atol=1e-6)
        kernel_choice.set_kernels("cpu")
        with mock.patch.object(tf.compat.v1.nn, "fused_batch_norm", _refuse):
            with self.assertRaisesRegex(AssertionError, "substitute ran"):
                ours(x, training=True)
