"""Tests of the attention ("where") network and the what/where mixer (the shared layer checks are
in tests/models/test_public_layers.py)."""

import numpy as np
import tensorflow as tf

from saccader_tf.models.saccader.attention_network import AttentionNetwork
from saccader_tf.models.saccader.what_where_mixer import WhatWhereMixer


def _features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


class AttentionNetworkTest(tf.test.TestCase):
    def test_output_shape_keeps_grid(self):
        net = AttentionNetwork(widths=(6, 5, 4, 3))
        self.assertEqual(tuple(net(_features((2, 5, 7, 8))).shape), (2, 5, 7, 3))

    def test_same_padding_on_3x3_grid_with_dilation(self):
        # A 3x3 dilated-by-2 kernel spans 5 pixels: wider than a 3x3 grid, SAME still keeps 3x3.
        net = AttentionNetwork(widths=(4, 4, 2, 2))
        out = net(_features((1, 3, 3, 6)), training=False)
        self.assertEqual(tuple(out.shape), (1, 3, 3, 2))
        self.assertEqual(net.convs[1].dilation_rate, (2, 2))
        self.assertEqual(net.convs[3].kernel_size, (3, 3))

    def test_architecture(self):
        net = AttentionNetwork(widths=(6, 5, 4, 3))
        net(_features((1, 4, 4, 8)))
        self.assertEqual([c.kernel_size for c in net.convs], [(1, 1), (3, 3), (1, 1), (3, 3)])
        self.assertEqual([c.dilation_rate for c in net.convs], [(1, 1), (2, 2), (1, 1), (2, 2)])
        self.assertTrue(all(not c.use_bias and c.padding == "same" for c in net.convs))
        self.assertEqual([n.momentum for n in net.norms], [0.9] * 4)
        self.assertEqual([n.epsilon for n in net.norms], [1e-5] * 4)
        # Weights: convs 8*6 + 9*6*5 + 5*4 + 9*4*3, BN 4 per channel.
        self.assertEqual(net.count_params(), 48 + 270 + 20 + 108 + 4 * (6 + 5 + 4 + 3))

    def test_output_is_non_negative(self):
        out = AttentionNetwork(widths=(4, 4, 3, 3))(_features((2, 4, 4, 5)), training=True)
        self.assertGreaterEqual(float(tf.reduce_min(out)), 0.0)

    def test_attention_widths(self):
        self.assertEqual(AttentionNetwork.attention_widths(2048), (1024, 1024, 512, 512))
        self.assertEqual(AttentionNetwork.attention_widths(64), (32, 32, 16, 16))
        self.assertEqual(AttentionNetwork.attention_widths(2), (1, 1, 1, 1))
        self.assertEqual(AttentionNetwork.attention_widths(1), (1, 1, 1, 1))
        with self.assertRaisesRegex(ValueError, "Received: feature_width=0"):
            AttentionNetwork.attention_widths(0)

    def test_invalid_widths(self):
        for widths in [(4, 4, 2), (4, 4, 2, 0), (4, 4, 2, 2.5), 8, (4, 4, 2, True)]:
            with self.assertRaisesRegex(ValueError, "Received: widths="):
                AttentionNetwork(widths=widths)

    def test_invalid_attention(self):
        with self.assertRaisesRegex(ValueError, "Received: attention='se'"):
            AttentionNetwork(attention="se")

    def test_cbam_option(self):
        net = AttentionNetwork(widths=(6, 5, 4, 32), attention="cbam")
        plain = AttentionNetwork(widths=(6, 5, 4, 32))
        x = _features((2, 4, 4, 8))
        self.assertEqual(tuple(net(x).shape), tuple(plain(x).shape))
        self.assertIsNotNone(net.attention_module)
        self.assertEqual(AttentionNetwork.from_config(net.get_config()).attention, "cbam")


class WhatWhereMixerTest(tf.test.TestCase):
    def test_is_affine_in_concatenation(self):
        where, what = _features((2, 3, 3, 4), 1), _features((2, 3, 3, 6), 2)
        mixer = WhatWhereMixer(width=5)
        out = mixer(where, what)
        kernel, bias = (np.asarray(v) for v in mixer.conv.weights)
        expected = np.concatenate([where, what], axis=-1) @ kernel[0, 0] + bias
        self.assertEqual(tuple(out.shape), (2, 3, 3, 5))
        self.assertAllClose(out, expected, atol=1e-5)
        self.assertTrue(mixer.conv.use_bias)
        self.assertEqual(len(mixer.trainable_weights), 2)

    def test_invalid_width(self):
        with self.assertRaisesRegex(ValueError, "Received: width=0"):
            WhatWhereMixer(width=0)


if __name__ == "__main__":
    tf.test.main()
