"""Tests of the ADCM layer: CBAM at inference, drop rate, drop direction, unbiasedness, seeding."""

import numpy as np
import tensorflow as tf

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.cbam import CBAM

GRANULARITIES = ("element", "channel", "position")


def controlled_input(shape, seed=0):
    """Positive input whose per-position scale s ~ U(0.05, 1) makes the spatial attention vary."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.05, 1.0, size=shape[:-1] + (1,))
    return (scale * rng.uniform(0.5, 1.0, size=shape)).astype("float32")


def controlled_adcm(shape, **kwargs):
    """ADCM (1x1 spatial conv) whose attention varies strongly over channels and positions.

    MLP kernels are 0 and the output bias is b, so M_c = sigmoid(2 b) with b spread over the
    channels (M_c in [0.18, 0.82]); the spatial logit is 12 max_C(x') - 3, so for
    `controlled_input` M_s spans roughly [0.05, 0.95].
    """
    channels = shape[-1]
    layer = ADCM(kernel_size=1, reduction=2, **kwargs)
    layer.build(shape)
    hidden = channels // 2
    layer.cbam.mlp_hidden.set_weights(
        [np.zeros((channels, hidden), "float32"), np.zeros(hidden, "float32")]
    )
    out_bias = np.linspace(-0.75, 0.75, channels).astype("float32")
    layer.cbam.mlp_output.set_weights([np.zeros((hidden, channels), "float32"), out_bias])
    conv = np.array([12.0, 0.0], "float32").reshape(1, 1, 2, 1)
    layer.cbam.spatial_conv.set_weights([conv, np.array([-3.0], "float32")])
    return layer


def attention_of(layer, x):
    """The attention a = M_c M_s broadcast to x's shape, as numpy (granularity-independent)."""
    channel_weights, spatial_weights = layer.attention_maps(x)
    return np.asarray(channel_weights) * np.asarray(spatial_weights) * np.ones(x.shape)


class ADCMInferenceTest(tf.test.TestCase):
    def test_equals_cbam_at_inference(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 5, 5, 8)).astype("float32")
        for granularity in GRANULARITIES:
            layer = ADCM(rate=0.3, granularity=granularity, reduction=2, kernel_size=3, seed=1)
            layer.build(x.shape)
            layer.set_weights(
                [rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()]
            )
            cbam = CBAM(reduction=2, kernel_size=3)
            cbam.build(x.shape)
            cbam.set_weights(layer.get_weights())
            expected = np.asarray(cbam(x))
            self.assertAllEqual(layer(x, training=False), expected)
            self.assertAllEqual(layer(x), expected)
            # Training does drop (so the equality above is not vacuous).
            self.assertGreater(np.mean(np.asarray(layer(x, training=True)) != expected), 0.1)


class ADCMDropRateTest(tf.test.TestCase):
    def test_mean_drop_probability_is_rate(self):
        shape = (4, 6, 6, 8)
        x = controlled_input(shape)
        for granularity in GRANULARITIES:
            for mode in ("low", "high"):
                layer = controlled_adcm(
                    shape, rate=0.2, p_max=0.95, mode=mode, granularity=granularity
                )
                probabilities = np.asarray(layer.drop_probabilities(x))
                self.assertLess(
                    probabilities.max(), 0.95
                )  # No clipping: the mean is exactly `rate`.
                self.assertAllClose(probabilities.mean(axis=(1, 2, 3)), [0.2] * 4, atol=1e-6)

    def test_clipping_at_p_max_lowers_mean(self):
        shape = (4, 6, 6, 8)
        x = controlled_input(shape)
        layer = controlled_adcm(shape, rate=0.2, p_max=0.3, mode="high")
        probabilities = np.asarray(layer.drop_probabilities(x))
        self.assertAllClose(probabilities.max(), 0.3)
        self.assertGreaterEqual(probabilities.min(), 0.0)
        self.assertLess(probabilities.mean(), 0.19)

    def test_empirical_drop_fraction(self):
        shape = (8, 16, 16, 32)
        x = controlled_input(shape)
        rate = 0.2
        draws_per_call = {"element": 8 * 16 * 16 * 32, "channel": 8 * 32, "position": 8 * 16 * 16}
        for granularity in GRANULARITIES:
            layer = controlled_adcm(shape, rate=rate, granularity=granularity, seed=3)
            reference = np.asarray(layer(x))
            self.assertTrue(np.all(reference != 0))
            calls = max(1, 4096 // draws_per_call[granularity])
            dropped = np.stack([np.asarray(layer(x, training=True)) == 0 for _ in range(calls)])
            tolerance = 4 * np.sqrt(rate * (1 - rate) / (calls * draws_per_call[granularity]))
            with self.subTest(granularity=granularity):
                self.assertAllClose(dropped.mean(), rate, atol=tolerance)
                if granularity == "channel":  # A channel is dropped at every position or none.
                    self.assertAllEqual(dropped.all(axis=(2, 3)), dropped.any(axis=(2, 3)))
                if granularity == "position":  # A position is dropped in every channel or none.
                    self.assertAllEqual(dropped.all(axis=-1), dropped.any(axis=-1))

    def test_drop_direction_follows_mode(self):
        shape = (8, 8, 8, 16)
        x = controlled_input(shape, seed=1)
        for granularity in GRANULARITIES:
            frequencies = {}
            for mode in ("low", "high"):
                layer = controlled_adcm(shape, rate=0.2, mode=mode, granularity=granularity, seed=5)
                attention = attention_of(layer, x)
                low, high = np.quantile(attention, [0.25, 0.75])
                dropped = np.mean(
                    [np.asarray(layer(x, training=True)) == 0 for _ in range(8)], axis=0
                )
                frequencies[mode] = (
                    dropped[attention <= low].mean(),
                    dropped[attention >= high].mean(),
                )
            with self.subTest(granularity=granularity):
                bottom, top = frequencies["low"]
                self.assertGreater(bottom, top + 0.05)  # "low" drops low-attention features.
                bottom, top = frequencies["high"]
                self.assertGreater(top, bottom + 0.05)  # "high" drops high-attention features.


class ADCMExpectationTest(tf.test.TestCase):
    def test_mean_is_preserved(self):
        copies = 2000
        single = controlled_input((1, 4, 4, 8), seed=2)
        x = np.repeat(single, copies, axis=0)
        cases = [(g, "low", 0.3, 0.5) for g in GRANULARITIES] + [("element", "high", 0.3, 0.4)]
        for granularity, mode, rate, p_max in cases:
            layer = controlled_adcm(
                x.shape, rate=rate, p_max=p_max, mode=mode, granularity=granularity, seed=9
            )
            reference = np.asarray(layer(single))[0]
            average = np.asarray(layer(x, training=True)).mean(axis=0)
            ratio = average / reference
            p = (np.asarray(layer.drop_probabilities(single)) * np.ones(single.shape))[0]
            with self.subTest(granularity=granularity, mode=mode):
                self.assertAllClose(average, reference, rtol=0.1)
                # Per-quartile of p, so a rescale by 1 / (1 - rate) instead of 1 / (1 - p) fails.
                low, high = np.quantile(p, [0.25, 0.75])
                self.assertGreater(high - low, 0.03)
                self.assertAllClose(ratio[p <= low].mean(), 1.0, atol=0.02)
                self.assertAllClose(ratio[p >= high].mean(), 1.0, atol=0.02)

    def test_attention_is_not_differentiated_through_the_mask(self):
        shape = (2, 5, 5, 8)
        x = controlled_input(shape, seed=4)
        layer = controlled_adcm(shape, rate=0.3, seed=2)
        weights = tf.constant(np.random.default_rng(0).normal(size=shape).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            outputs = layer(x, training=True)
            clean = layer.cbam(x)
            scale = tf.stop_gradient(tf.math.divide_no_nan(outputs, clean))
            loss = tf.reduce_sum(outputs * weights)
            expected_loss = tf.reduce_sum(clean * scale * weights)
        variables = layer.trainable_weights
        for got, want in zip(
            tape.gradient(loss, variables), tape.gradient(expected_loss, variables)
        ):
            self.assertAllClose(got, want, atol=1e-5)
        self.assertGreater(np.mean(np.asarray(scale) == 0), 0.1)


class ADCMSeedTest(tf.test.TestCase):
    def test_fixed_seed_reproduces_mask(self):
        shape = (2, 6, 6, 8)
        x = controlled_input(shape)
        first = controlled_adcm(shape, rate=0.3, seed=7)
        same = controlled_adcm(shape, rate=0.3, seed=7)
        other = controlled_adcm(shape, rate=0.3, seed=8)
        a, b, c = (np.asarray(layer(x, training=True)) for layer in (first, same, other))
        self.assertAllEqual(a, b)
        self.assertNotAllEqual(a == 0, c == 0)
        self.assertNotAllEqual(
            np.asarray(first(x, training=True)) == 0, a == 0
        )  # The seed advances.

    def test_training_under_low_precision_policies(self):
        x = controlled_input((2, 8, 8, 16))
        for policy, dtype in (("float16", tf.float16), ("mixed_bfloat16", tf.bfloat16)):
            layer = ADCM(rate=0.3, reduction=4, seed=0, dtype=policy)
            outputs = layer(x, training=True)
            self.assertEqual(outputs.dtype, dtype)
            values = np.asarray(tf.cast(outputs, tf.float32))
            self.assertTrue(np.all(np.isfinite(values)))
            self.assertAllClose(np.mean(values == 0), 0.3, atol=0.06)


class ADCMValidationTest(tf.test.TestCase):
    def test_invalid_arguments(self):
        cases = [
            ({"rate": 1.5}, "Received: rate=1.5"),
            ({"rate": -0.1}, "Received: rate=-0.1"),
            ({"rate": 1.0, "p_max": 0.5}, "Received: rate=1.0"),
            ({"p_max": 0.0}, "Received: p_max=0.0"),
            ({"p_max": 1.0}, "Received: p_max=1.0"),
            ({"rate": 0.4, "p_max": 0.3}, "Received: rate=0.4"),
            ({"mode": "middle"}, "Received: mode='middle'"),
            ({"granularity": "pixel"}, "Received: granularity='pixel'"),
            ({"reduction": 0}, "Received: reduction=0"),
            ({"kernel_size": 2}, "Received: kernel_size=2"),
        ]
        for kwargs, message in cases:
            with self.subTest(**kwargs):
                with self.assertRaisesRegex(ValueError, message):
                    ADCM(**kwargs)


if __name__ == "__main__":
    tf.test.main()
