"""Tests of the CBAM layer: hand-computed numerics, gate order, weight maps, validation, shared
checks."""

import numpy as np
import tensorflow as tf

from saccader_tf.layers.cbam import CBAM  # noqa: E402


def set_cbam_weights(
    cbam, hidden_kernel, hidden_bias, out_kernel, out_bias, conv_kernel, conv_bias
):
    """Sets the weights of a built CBAM from plain arrays (MLP layers, then the spatial conv)."""
    as32 = lambda v: np.asarray(v, "float32")  # noqa: E731
    cbam.mlp_hidden.set_weights([as32(hidden_kernel), as32(hidden_bias)])
    cbam.mlp_output.set_weights([as32(out_kernel), as32(out_bias)])
    cbam.spatial_conv.set_weights([as32(conv_kernel), as32(conv_bias)])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_cbam(x, w1, b1, w2, b2, kernel, bias):
    """Independent numpy CBAM: returns (output, M_c [B,C], M_s [B,H,W])."""

    # Channel gate: shared MLP on the global average and the global max of each channel.
    def mlp(v):
        return np.maximum(v @ w1 + b1, 0.0) @ w2 + b2

    m_c = sigmoid(mlp(x.mean(axis=(1, 2))) + mlp(x.max(axis=(1, 2))))
    refined = x * m_c[:, None, None, :]
    # Spatial gate: [max over C, mean over C] -> k x k cross-correlation, zero padded to SAME size.
    pooled = np.stack([refined.max(axis=-1), refined.mean(axis=-1)], axis=-1)
    k = kernel.shape[0]
    half = k // 2
    padded = np.pad(pooled, ((0, 0), (half, half), (half, half), (0, 0)))
    batch, height, width, _ = x.shape
    logits = np.zeros((batch, height, width))
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                window = padded[b, i : i + k, j : j + k, :]
                logits[b, i, j] = np.sum(window * kernel[:, :, :, 0]) + bias[0]
    m_s = sigmoid(logits)
    return refined * m_s[..., None], m_c, m_s


class CBAMNumericsTest(tf.test.TestCase):
    def test_hand_computed_two_by_two(self):
        # x: one example, 1x2 positions, 2 channels: position 0 = (1, 2), position 1 = (3, 0).
        x = np.array([[[[1.0, 2.0], [3.0, 0.0]]]], "float32")
        cbam = CBAM(reduction=2, kernel_size=1)  # hidden units = max(1, 2 // 2) = 1.
        cbam.build(x.shape)
        # MLP: h = relu(x0 + x1); out = (h, -h). Spatial conv (1x1): logit = max_C - mean_C + 0.5.
        set_cbam_weights(
            cbam, [[1.0], [1.0]], [0.0], [[1.0, -1.0]], [0.0, 0.0], [[[[1.0], [-1.0]]]], [0.5]
        )
        # avg pool = (2, 1) -> h = 3 -> (3, -3); max pool = (3, 2) -> h = 5 -> (5, -5);
        # sum = (8, -8); M_c = (sigmoid(8), sigmoid(-8)) = (0.99966465, 0.00033535).
        expected_mc = [0.99966465, 0.00033535]
        # x' = M_c x: position 0 = (0.99966465, 0.00067070), position 1 = (2.99899395, 0).
        # position 0: max 0.99966465, mean 0.50016768 -> logit 0.99949697 -> M_s = 0.73095967;
        # position 1: max 2.99899395, mean 1.49949698 -> logit 1.99949697 -> M_s = 0.88074425.
        expected_ms = [0.73095967, 0.88074425]
        # out = M_s x' = (0.73071454, 0.00049025), (2.64134669, 0).
        expected = [[[[0.73071454, 0.00049025], [2.64134669, 0.0]]]]
        channel_weights, spatial_weights = cbam.attention_maps(x)
        self.assertAllClose(np.reshape(channel_weights, [-1]), expected_mc, atol=1e-7)
        self.assertAllClose(np.reshape(spatial_weights, [-1]), expected_ms, atol=1e-6)
        self.assertAllClose(cbam(x), expected, atol=1e-6)

    def test_matches_numpy_reference_with_3x3_conv(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 3, 4, 4)).astype("float32")
        w1, b1 = rng.normal(size=(4, 2)), rng.normal(size=2)  # reduction 2: 4 -> 2 -> 4.
        w2, b2 = rng.normal(size=(2, 4)), rng.normal(size=4)
        kernel, bias = rng.normal(size=(3, 3, 2, 1)), rng.normal(size=1)
        cbam = CBAM(reduction=2, kernel_size=3)
        cbam.build(x.shape)
        set_cbam_weights(cbam, w1, b1, w2, b2, kernel, bias)
        expected, m_c, m_s = numpy_cbam(x.astype("float64"), w1, b1, w2, b2, kernel, bias)
        channel_weights, spatial_weights = cbam.attention_maps(x)
        self.assertAllClose(channel_weights, m_c[:, None, None, :], atol=1e-5)
        self.assertAllClose(spatial_weights, m_s[..., None], atol=1e-5)
        self.assertAllClose(cbam(x), expected, atol=1e-5)

    def test_channel_gate_comes_before_spatial_gate(self):
        # Channel gate ~ (1, 0): channel 1 is suppressed. Spatial logit = max over C of its input.
        # Position A = (0, 10) is large only in the suppressed channel; position B = (1, 0).
        x = np.array([[[[0.0, 10.0], [1.0, 0.0]]]], "float32")
        cbam = CBAM(reduction=2, kernel_size=1)
        cbam.build(x.shape)
        set_cbam_weights(
            cbam, [[0.0], [0.0]], [0.0], [[0.0, 0.0]], [10.0, -10.0], [[[[1.0], [0.0]]]], [0.0]
        )
        channel_weights, spatial_weights = cbam.attention_maps(x)
        m_c = sigmoid(np.array([20.0, -20.0]))  # Both MLP branches add their bias.
        self.assertAllClose(np.reshape(channel_weights, [-1]), m_c, atol=1e-7)
        # Channel first: the spatial gate sees x' = (0, 10 sigmoid(-20)) at A, so
        # M_s(A) ~ sigmoid(0).
        # Spatial first would see max 10 at A and give M_s(A) = sigmoid(10) ~ 1.
        refined = x[0, 0] * m_c
        expected_ms = sigmoid(refined.max(axis=-1))
        self.assertAllClose(np.reshape(spatial_weights, [-1]), expected_ms, atol=1e-6)
        self.assertLess(float(np.reshape(spatial_weights, [-1])[0]), 0.51)
        self.assertAllClose(cbam(x)[0, 0], refined * expected_ms[:, None], atol=1e-6)

    def test_attention_maps_shapes_ranges_and_output(self):
        x = np.random.default_rng(1).normal(size=(3, 5, 6, 8)).astype("float32")
        cbam = CBAM()  # reduction 16 > C: the hidden layer keeps one unit.
        outputs = cbam(x)
        self.assertEqual(tuple(cbam.mlp_hidden.kernel.shape), (8, 1))
        channel_weights, spatial_weights = cbam.attention_maps(x)
        self.assertEqual(tuple(channel_weights.shape), (3, 1, 1, 8))
        self.assertEqual(tuple(spatial_weights.shape), (3, 5, 6, 1))
        for weights in (channel_weights, spatial_weights):
            self.assertTrue(np.all((np.asarray(weights) > 0) & (np.asarray(weights) < 1)))
        self.assertAllClose(
            outputs, np.asarray(spatial_weights) * np.asarray(channel_weights) * x, atol=1e-6
        )
        self.assertAllEqual(cbam(x, training=True), outputs)


class CBAMValidationTest(tf.test.TestCase):
    def test_invalid_arguments(self):
        cases = [
            ({"reduction": 0}, "Received: reduction=0"),
            ({"reduction": 2.0}, "Received: reduction=2.0"),
            ({"kernel_size": 4}, "Received: kernel_size=4"),
            ({"kernel_size": 0}, "Received: kernel_size=0"),
            ({"kernel_size": -3}, "Received: kernel_size=-3"),
        ]
        for kwargs, message in cases:
            with self.subTest(**kwargs):
                with self.assertRaisesRegex(ValueError, message):
                    CBAM(**kwargs)


if __name__ == "__main__":
    tf.test.main()
