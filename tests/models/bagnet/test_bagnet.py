"""BagNet: parameter counts, receptive fields, locality, shortcut alignment and validation (the
shared layer checks are in tests/models/test_public_layers.py)."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.bottleneck import BagNetBottleneck

# (variant, receptive field, stride, image size, grid side): the table of docs/design.md, "BagNet".
GEOMETRY = [
    ("bagnet9", 9, 8, 224, 27),
    ("bagnet17", 17, 8, 224, 26),
    ("bagnet33", 33, 8, 224, 24),
    ("bagnet77_lowd", 77, 8, 224, 19),
    ("bagnet29_small", 29, 4, 60, 8),
    ("bagnet29_small", 29, 4, 100, 18),
    ("bagnet9_tiny", 9, 4, 24, 4),
]


def _linearise_batchnorm(model, seed=0, shift=50.0):
    """Random BN scales and a large positive shift: every ReLU is active in inference mode.

    With zero-initialised residual BNs (γ = 0) the residual branches would contribute nothing and
    the receptive field would look smaller than it is; with all ReLUs active the network is linear
    and every pixel inside the receptive field has a non-zero gradient almost surely.
    """
    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.0, n).astype("float32"))
            layer.beta.assign(np.full(n, shift, "float32"))


def _all_layers(layer):
    for sub in getattr(layer, "_flatten_layers", lambda **_: [])(
        include_self=False, recursive=True
    ):
        yield sub


class BagNetGeometryTest(tf.test.TestCase):
    def test_bagnet77_lowd_has_the_papers_weight_count(self):
        model = BagNet(num_classes=1001, variant="bagnet77_lowd", image_size=224)
        self.assertEqual(model.count_params(), 20_628_393)

    def test_bagnet77_lowd_grid_at_224(self):
        model = BagNet(num_classes=1001, variant="bagnet77_lowd")
        out = model(np.zeros((1, 224, 224, 3), "float32"))
        self.assertEqual(out["patch_logits"].shape, (1, 19, 19, 1001))
        self.assertEqual(out["features"].shape, (1, 19, 19, 2048))
        self.assertEqual(out["what_features"].shape, (1, 19, 19, 512))
        self.assertEqual(model.receptive_field, 77)

    def test_receptive_field_stride_and_grid_of_every_variant(self):
        for variant, rf, stride, size, grid in GEOMETRY:
            with self.subTest(variant=variant, size=size):
                model = BagNet(num_classes=3, variant=variant)
                self.assertEqual((model.receptive_field, model.stride), (rf, stride))
                self.assertEqual(model.grid_size(size), grid)
                self.assertEqual(
                    model.cell_box(1, 2), (stride, 2 * stride, stride + rf, 2 * stride + rf)
                )

    def test_small_variant_output_shape_matches_grid(self):
        model = BagNet(num_classes=10, variant="bagnet29_small", input_channels=1)
        out = model(np.zeros((2, 100, 100, 1), "float32"))
        self.assertEqual(out["patch_logits"].shape, (2, 18, 18, 10))

    def test_image_logits_are_the_mean_of_patch_logits(self):
        model = BagNet(num_classes=5, variant="bagnet9_tiny", input_channels=2)
        images = np.random.default_rng(1).normal(size=(3, 28, 28, 2)).astype("float32")
        out = model(images, training=False)
        self.assertAllClose(out["logits"], np.mean(out["patch_logits"], axis=(1, 2)), atol=1e-6)


class BagNetLocalityTest(tf.test.TestCase):
    def _gradient_support(self, model, size, channels):
        images = tf.constant(
            np.random.default_rng(2).uniform(size=(1, size, size, channels)), tf.float32
        )
        with tf.GradientTape() as tape:
            tape.watch(images)
            z = model(images, training=False)["patch_logits"][0, 0, 0, :]
            target = tf.reduce_sum(z)
        grad = tape.gradient(target, images).numpy()[0]
        return np.any(grad != 0, axis=-1)

    def test_top_left_cell_gradient_is_exactly_its_box(self):
        for variant, rf, stride, _, _ in GEOMETRY[:5]:
            with self.subTest(variant=variant):
                model = BagNet(num_classes=4, variant=variant, input_channels=3)
                _linearise_batchnorm(model)
                size = rf + stride  # a 2x2 grid keeps the test small
                support = self._gradient_support(model, size, 3)
                expected = np.zeros((size, size), bool)
                expected[:rf, :rf] = True
                self.assertTrue(model.is_local)
                self.assertAllEqual(support, expected)

    def test_pixels_outside_a_cells_box_do_not_change_it(self):
        model = BagNet(num_classes=4, variant="bagnet29_small", input_channels=1)
        _linearise_batchnorm(model)
        rng = np.random.default_rng(3)
        images = rng.uniform(size=(1, 60, 60, 1)).astype("float32")
        ymin, xmin, ymax, xmax = model.cell_box(3, 5)
        changed = rng.uniform(size=images.shape).astype("float32")
        changed[:, ymin:ymax, xmin:xmax] = images[:, ymin:ymax, xmin:xmax]
        before = model(images, training=False)["patch_logits"].numpy()
        after = model(changed, training=False)["patch_logits"].numpy()
        self.assertAllClose(before[0, 3, 5], after[0, 3, 5], rtol=1e-6, atol=1e-6)
        self.assertGreater(np.abs(before - after).max(), 1e-3)  # other cells did change

    def test_cbam_inside_blocks_is_reported_and_really_non_local(self):
        model = BagNet(
            num_classes=4,
            variant="bagnet9_tiny",
            attention="cbam",
            attention_kwargs={"reduction": 2},
        )
        self.assertFalse(model.is_local)
        # A moderate shift: a large one would saturate CBAM's sigmoids (zero gradient).
        _linearise_batchnorm(model, shift=0.1)
        support = self._gradient_support(model, 24, 3)
        self.assertTrue(support[20:, 20:].any(), "CBAM pools globally: far pixels must matter")


class BottleneckShortcutTest(tf.test.TestCase):
    def test_identity_shortcut_is_center_cropped(self):
        block = BagNetBottleneck(filters=2, kernel_size=3, strides=1)
        x = np.random.default_rng(4).normal(size=(2, 6, 6, 8)).astype("float32")
        # At initialisation bn3's γ = 0, so the residual branch is zero: out = ReLU(crop(x)).
        out = block(x, training=False)
        self.assertFalse(block.has_projection)
        self.assertAllClose(out, np.maximum(x[:, 1:-1, 1:-1, :], 0.0), atol=1e-6)

    def test_strided_projection_reads_the_center_pixel_of_each_window(self):
        block = BagNetBottleneck(filters=1, kernel_size=3, strides=2)
        x = np.random.default_rng(5).normal(size=(1, 7, 7, 4)).astype("float32")
        block(x)
        block.shortcut_conv.kernel.assign(np.eye(4, dtype="float32").reshape(1, 1, 4, 4))
        out = block(x, training=False).numpy()
        self.assertEqual(out.shape, (1, 3, 3, 4))
        scale = 1.0 / np.sqrt(1.0 + 1e-5)  # inference BN with moving mean 0, variance 1
        for i in range(3):
            for j in range(3):
                self.assertAllClose(
                    out[0, i, j], np.maximum(x[0, 2 * i + 1, 2 * j + 1] * scale, 0), atol=1e-6
                )


class BagNetArchitectureTest(tf.test.TestCase):
    def test_explicit_architecture_overrides_the_variant(self):
        model = BagNet(num_classes=3, variant="bagnet9_tiny", kernel3=(1, 0), lowd_width=0)
        self.assertEqual(model.receptive_field, 5)
        self.assertEqual(model.what_width, model.feature_width)
        clone = BagNet.from_config(model.get_config())
        self.assertEqual(clone.receptive_field, 5)


class BagNetValidationTest(tf.test.TestCase):
    def _raises(self, fragment, **kwargs):
        args = {"num_classes": 3, "variant": "bagnet9_tiny", **kwargs}
        with self.assertRaisesRegex(ValueError, fragment):
            BagNet(**args)

    def test_invalid_arguments_name_the_argument_and_value(self):
        self._raises(r"Received: variant='resnet'", variant="resnet")
        self._raises(r"Received: widths=\(0, 8\)", widths=(0, 8))
        self._raises(r"Received: num_classes=0", num_classes=0)
        self._raises(r"Received: kernel3=\(2, 1\)", kernel3=(2, 1))
        self._raises(r"Received: strides=\(2,\)", strides=(2,))
        self._raises(r"Received: stem='conv7x7'", stem="conv7x7")
        self._raises(r"Received: attention='se'", attention="se")
        self._raises(r"receptive field is 9 px.*Received: image_size=8", image_size=8)
        with self.assertRaisesRegex(ValueError, r"Received: kernel_size=5"):
            BagNetBottleneck(filters=4, kernel_size=5)
        with self.assertRaisesRegex(ValueError, r"Received: filters=-1"):
            BagNetBottleneck(filters=-1)
