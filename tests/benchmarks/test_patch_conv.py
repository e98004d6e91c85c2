"""`same_dilated_conv2d` (the benchmark's patch-matmul dilated convolution) equals Conv2D."""

import keras
import numpy as np
import tensorflow as tf

from benchmarks.patch_conv import same_dilated_conv2d


class SameDilatedConvTest(tf.test.TestCase):
    def test_matches_keras_conv2d_forward_and_gradients(self):
        cases = [
            ((2, 8, 8, 5), 7, 3, 2),
            ((2, 19, 19, 4), 3, 3, 2),
            ((1, 5, 7, 3), 2, 3, 3),
            ((2, 6, 6, 2), 4, 5, 1),
        ]
        for shape, filters, size, rate in cases:
            with self.subTest(shape=shape, size=size, rate=rate):
                conv = keras.layers.Conv2D(
                    filters, size, padding="same", dilation_rate=rate, use_bias=False
                )
                conv.build(shape)
                x = tf.constant(np.random.default_rng(0).normal(size=shape).astype("float32"))
                with tf.GradientTape(persistent=True) as tape:
                    tape.watch(x)
                    expected, actual = conv(x), same_dilated_conv2d(x, conv.kernel, rate)
                    loss_expected, loss_actual = (
                        tf.reduce_sum(expected**2),
                        tf.reduce_sum(actual**2),
                    )
                self.assertEqual(actual.shape, expected.shape)
                self.assertAllClose(actual, expected, atol=1e-5, rtol=1e-5)
                for g_actual, g_expected in zip(
                    tape.gradient(loss_actual, [x, conv.kernel]),
                    tape.gradient(loss_expected, [x, conv.kernel]),
                ):
                    self.assertAllClose(g_actual, g_expected, atol=1e-4, rtol=1e-5)

    def test_hand_computed_corner(self):
        # All-ones 3x3 image and 3x3 kernel, rate 2: pixel (i, j) sums the taps
        # (i + 2u - 2, j + 2v - 2), u, v in {0, 1, 2}, that fall inside the image (the rest is
        # zero padding): 4 at a corner, 2 at an edge midpoint, 1 at the centre.
        x = tf.ones([1, 3, 3, 1])
        y = same_dilated_conv2d(x, tf.ones([3, 3, 1, 1]), 2)[0, :, :, 0]
        self.assertAllEqual(y, [[4, 2, 4], [2, 1, 2], [4, 2, 4]])

    def test_unknown_spatial_size_and_even_kernel(self):
        fn = tf.function(lambda x: same_dilated_conv2d(x, tf.ones([3, 3, 2, 4]), 2))
        spec = fn.get_concrete_function(tf.TensorSpec([None, None, None, 2])).structured_outputs
        self.assertEqual(spec.shape.as_list(), [None, None, None, 4])
        self.assertEqual(fn(tf.ones([1, 5, 6, 2])).shape, (1, 5, 6, 4))
        with self.assertRaisesRegex(ValueError, "must be odd"):
            same_dilated_conv2d(tf.ones([1, 4, 4, 1]), tf.ones([2, 2, 1, 1]), 1)
