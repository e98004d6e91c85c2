"""`saccader_tf.layers.fused_batch_norm.BatchNormalization`: Keras' BN maths on the fused kernel."""

import os
import tempfile

import h5py
import keras
import numpy as np
import tensorflow as tf

from saccader_tf.layers.fused_batch_norm import BatchNormalization


def _pair(shape, **kwargs):
    """A Keras BN and a fused BN with the same (non-trivial) weights."""
    reference = keras.layers.BatchNormalization(
        momentum=0.9,
        epsilon=1e-5,
        gamma_initializer="random_normal",
        beta_initializer="random_normal",
        moving_mean_initializer="random_normal",
        moving_variance_initializer="ones",
        **kwargs,
    )
    fused = BatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)
    reference.build(shape)
    fused.build(shape)
    fused.set_weights(reference.get_weights())
    return reference, fused


def _loss(y, x):
    """A loss whose gradient differs per element and channel."""
    weights = tf.range(1, y.shape[-1] + 1, dtype=tf.float32)
    return tf.reduce_sum(tf.cast(y, tf.float32) * weights * x)


class FusedBatchNormTest(tf.test.TestCase):
    def test_matches_keras_outputs_gradients_and_moving_statistics(self):
        for shape in [(4, 5, 5, 3), (2, 1, 1, 7)]:
            x = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, size=shape).astype("float32"))
            reference, fused = _pair(shape)
            for training in (True, False, True):
                with self.subTest(shape=shape, training=training):
                    with tf.GradientTape(persistent=True) as tape:
                        tape.watch(x)
                        y_ref, y_fused = (
                            reference(x, training=training),
                            fused(x, training=training),
                        )
                        loss_ref, loss_fused = _loss(y_ref, x), _loss(y_fused, x)
                    self.assertAllClose(y_fused, y_ref, atol=1e-5, rtol=1e-5)
                    grads_ref = tape.gradient(loss_ref, [x, reference.gamma, reference.beta])
                    grads_fused = tape.gradient(loss_fused, [x, fused.gamma, fused.beta])
                    for g_fused, g_ref in zip(grads_fused, grads_ref):
                        self.assertAllClose(g_fused, g_ref, atol=1e-4, rtol=1e-5)
                    # Moving mean and the BIASED moving variance, updated exactly as Keras does.
                    for w_fused, w_ref in zip(fused.get_weights(), reference.get_weights()):
                        self.assertAllClose(w_fused, w_ref, atol=1e-6, rtol=1e-6)

    def test_hand_computed_moving_variance_update(self):
        # One channel, values 1 and 3: batch mean 2, biased variance 1 (the unbiased one would
        # be 2).
        bn = BatchNormalization(momentum=0.5, epsilon=0.0)
        y = bn(tf.constant([[[[1.0]]], [[[3.0]]]]), training=True)
        self.assertAllClose(tf.reshape(y, [-1]), [-1.0, 1.0])
        self.assertAllClose(bn.moving_mean, [0.5 * 0.0 + 0.5 * 2.0])
        self.assertAllClose(bn.moving_variance, [0.5 * 1.0 + 0.5 * 1.0])

    def test_frozen_layer_uses_moving_statistics_in_training(self):
        shape = (3, 2, 2, 4)
        x = tf.constant(np.random.default_rng(2).normal(size=shape).astype("float32"))
        reference, fused = _pair(shape)
        reference.trainable = fused.trainable = False
        self.assertAllClose(fused(x, training=True), reference(x, training=True), atol=1e-5)
        self.assertAllClose(fused.moving_mean, reference.moving_mean)

    def test_other_ranks_and_masks_use_the_keras_implementation(self):
        x = tf.constant(np.random.default_rng(3).normal(size=(5, 3)).astype("float32"))
        reference, fused = _pair((5, 3))
        self.assertAllClose(fused(x, training=True), reference(x, training=True), atol=1e-6)
        x4 = tf.constant(np.random.default_rng(4).normal(size=(2, 3, 3, 2)).astype("float32"))
        mask = tf.constant(np.random.default_rng(5).random((2, 3, 3)) > 0.3)
        reference, fused = _pair((2, 3, 3, 2))
        self.assertAllClose(
            fused(x4, training=True, mask=mask), reference(x4, training=True, mask=mask), atol=1e-6
        )

    def test_mixed_precision_computes_in_float32_returns_float16(self):
        bn = BatchNormalization(momentum=0.9, dtype="mixed_float16")
        y = bn(tf.ones((2, 3, 3, 4), tf.float16) * 3.0, training=True)
        self.assertEqual(y.dtype, tf.float16)
        self.assertEqual(bn.moving_mean.dtype, "float32")
        self.assertAllClose(bn.moving_mean, [0.3] * 4, atol=1e-6)

    def test_weight_files_use_the_keras_class_name(self):
        # Keras names the entries of a weight file after the class: keeping the name keeps files
        # written before this layer existed loadable.
        inputs = keras.Input((2, 2, 3))
        model = keras.Model(inputs, BatchNormalization()(inputs))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.weights.h5")
            model.save_weights(path)
            names = []
            with h5py.File(path) as f:
                f.visit(names.append)
        self.assertIn("layers/batch_normalization/vars/0", names)
