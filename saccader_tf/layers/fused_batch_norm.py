"""Keras' BatchNormalization computed with TensorFlow's fused kernel (same maths, fewer ops)."""

import keras
import tensorflow as tf

from saccader_tf.layers.kernel_choice import cpu_kernels


@keras.saving.register_keras_serializable(package="saccader_tf")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` run by TensorFlow's fused kernel on NHWC feature maps.

    The same maths, weights and moving-statistics update as the Keras layer:

        training:  y = γ (x − μ_B) / sqrt(σ²_B + ε) + β,   μ_B, σ²_B = mean and (biased) variance
                   over batch, height and width;  m ← m·momentum + μ_B·(1 − momentum),
                   v ← v·momentum + σ²_B·(1 − momentum)
        inference: y = γ (x − m) / sqrt(v + ε) + β

    Keras 3 builds this from elementwise ops (moments, subtract, multiply, ...), whose gradient is
    a chain of broadcasts and reductions; `FusedBatchNormV3` and its gradient kernel do the same
    in one pass each (faster forward and backward on a CPU; `python -m benchmarks` measures it,
    docs/results/benchmark.md), and in inference Grappler can fold it into the preceding
    convolution. Results match the Keras layer to float32 rounding. The fused kernel returns the
    Bessel-corrected batch variance; it is scaled back by `(n − 1) / n` so that the moving variance
    follows the biased variance exactly as Keras does.

    It runs where the CPU substitute is chosen (`saccader_tf.layers.kernel_choice`: by default
    when no GPU or TPU is visible). Elsewhere, and for anything the fused kernel does not cover
    (an input of rank other than 4, `axis` other than the last, a `mask`, `renorm`,
    `synchronized=True`, float64), the Keras implementation runs.

    The class keeps Keras' name on purpose: Keras names a weight file's entries after the class
    (`.../batch_normalization_1/vars/0`), so weight files of models built with either class are
    interchangeable.

    Args:
        **kwargs: the arguments of `keras.layers.BatchNormalization` (`momentum`, `epsilon`,
            `gamma_initializer`, `name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, H, W, C]` (other ranks: the Keras implementation).
        training: batch statistics and moving-statistics update when `True` (and the layer is
            trainable), moving statistics otherwise.
        mask: optional; makes the layer use the Keras implementation.

    Returns:
        `[B, H, W, C]` in the layer's compute dtype.

    Example:

    >>> bn = BatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> bn(keras.ops.ones((2, 4, 4, 3)), training=True).shape
    TensorShape([2, 4, 4, 3])

    Reference:
        Ioffe & Szegedy, "Batch Normalization", ICML 2015.
    """

    def _fused_supported(self, inputs, mask):
        axis = self.axis if isinstance(self.axis, int) else None
        return (
            mask is None
            and not self.renorm
            and not getattr(self, "synchronized", False)
            and len(inputs.shape) == 4
            and axis in (-1, 3)
            and inputs.shape[-1] is not None
            and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "float16", "bfloat16")
        )

    def call(self, inputs, training=None, mask=None):
        if not (cpu_kernels() and self._fused_supported(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)  # as Keras: statistics in float32
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels], tf.float32)
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels], tf.float32)
        if training and self.trainable:
            y, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
            )
            count = tf.cast(tf.size(x, out_type=tf.int64) // channels, tf.float32)
            variance = unbiased_variance * ((count - 1.0) / tf.maximum(count, 1.0))
            momentum = self.momentum
            moving_mean = tf.cast(self.moving_mean, tf.float32)
            moving_variance = tf.cast(self.moving_variance, tf.float32)
            self.moving_mean.assign(moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(moving_variance * momentum + variance * (1.0 - momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                gamma,
                beta,
                mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32),
                epsilon=self.epsilon,
                data_format="NHWC",
                is_training=False,
            )
        return tf.cast(y, self.compute_dtype)
