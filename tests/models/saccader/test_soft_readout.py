"""Soft-attention readout: y^t = Σ_n π^t_n Z_n, ŷ = mean_t y^t; chosen at construction (its
config and `.keras` round trip: the `Saccader_soft_readout` case of test_public_layers.py)."""

import numpy as np
import tensorflow as tf

from saccader_tf.models.saccader.saccader import Saccader

TINY = {
    "num_classes": 3,
    "image_size": 24,
    "variant": "bagnet9_tiny",
    "input_channels": 1,
    "seed": 4,
}


def _images():
    return np.random.default_rng(3).normal(size=(2, 24, 24, 1)).astype(np.float32)


class SoftReadoutTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.soft = Saccader(readout="soft", **TINY)
        cls.out = cls.soft(_images(), num_glimpses=3)

    def test_logits_are_the_probability_weighted_patch_logits(self):
        pi = self.out["probabilities"].numpy()  # [B, T, N]
        z = self.out["patch_logits"].numpy().reshape(2, 16, 3)  # [B, N, K]
        expected = np.zeros((2, 3, 3))
        for b in range(2):
            for t in range(3):
                for n in range(16):
                    expected[b, t] += pi[b, t, n] * z[b, n]
        self.assertAllClose(self.out["glimpse_logits"], expected, atol=1e-5)
        self.assertAllClose(self.out["logits"], expected.mean(axis=1), atol=1e-5)
        # Step 2 excludes the first cell: π there is exactly 0.
        first = self.out["cells"].numpy()[:, 0]
        self.assertAllEqual(pi[np.arange(2), 1, first], [0.0, 0.0])

    def test_hard_readout_is_the_default_and_only_the_readout_differs(self):
        hard = Saccader(**TINY)
        self.assertEqual(hard.get_config()["readout"], "hard")
        hard.build()
        hard.set_weights(self.soft.get_weights())
        out = hard(_images(), num_glimpses=3)
        self.assertAllEqual(out["cells"], self.out["cells"])  # the same policy picks the same cells
        z = out["patch_logits"].numpy().reshape(2, 16, 3)
        cells = out["cells"].numpy()
        self.assertAllClose(out["logits"], z[np.arange(2)[:, None], cells].mean(axis=1))
        self.assertNotAllClose(out["logits"], self.out["logits"])

    def test_unknown_readout_is_rejected(self):
        with self.assertRaisesRegex(ValueError, r"Received: readout='sharp'"):
            Saccader(readout="sharp", **TINY)
