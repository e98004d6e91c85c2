"""Preprocessing recipes: centre crop, Inception random crop with fallback, flip, normalisation,
and the one evaluation preprocessing (`preprocess_for_eval`) against hand-computed values and an
independent NumPy crop + bilinear resize."""

import numpy as np
import tensorflow as tf

from saccader_tf.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    default_normalization,
    normalize_images,
    preprocess_for_eval,
)
from saccader_tf.data.preprocessing import (
    Recipe,
    center_crop,
    crop_window,
    random_crop,
    resize,
)

# Normalisation that keeps raw pixel values: (x / 255 - 0) / (1 / 255) = x.
RAW = dict(mean=(0.0,), std=(1 / 255.0,))


def _index_image(height, width, channels=1):
    """`image[y, x, c] = y * width + x` (as int32) so crops can be located from their values."""
    values = np.arange(height * width, dtype=np.int32).reshape(height, width, 1)
    return tf.constant(np.repeat(values, channels, axis=2))


def _numpy_bilinear(image, size):
    """Reference bilinear resize of `image [H, W, C]` to `size x size`: half-pixel centres (output
    pixel `i` samples input coordinate `(i + 0.5) * H / size - 0.5`), neighbours clamped to the
    image, no antialiasing; written from the definition, one axis after the other."""

    def along(values, axis):
        n = values.shape[axis]
        coords = (np.arange(size) + 0.5) * n / size - 0.5
        low = np.floor(coords)
        frac = coords - low
        i0 = np.clip(low.astype(int), 0, n - 1)
        i1 = np.clip(low.astype(int) + 1, 0, n - 1)
        shape = [1] * values.ndim
        shape[axis] = size
        frac = frac.reshape(shape)
        return np.take(values, i0, axis) * (1 - frac) + np.take(values, i1, axis) * frac

    return along(along(image.astype(np.float64), 0), 1)


def _numpy_eval(image, size, crop_fraction, mean, std):
    """Reference evaluation input: centre crop of side `round(f * min(H, W))` (round half to even,
    at least 1) at `((H - c) // 2, (W - c) // 2)`, bilinear resize, `(x / 255 - mean) / std`."""
    height, width = image.shape[:2]
    if crop_fraction is not None:
        side = max(int(np.round(crop_fraction * min(height, width))), 1)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[top : top + side, left : left + side]
    return (_numpy_bilinear(image, size) / 255.0 - np.array(mean)) / np.array(std)


class CenterCropTest(tf.test.TestCase):
    def test_hand_computed_window(self):
        # side = round(0.875 * 10) = 9 (numpy/TF round half to even: 8.75 -> 9);
        # top = (10 - 9) // 2 = 0, left = (20 - 9) // 2 = 5.
        crop = center_crop(_index_image(10, 20))
        self.assertEqual(crop.shape, (9, 9, 1))
        self.assertEqual(int(crop[0, 0, 0]), 0 * 20 + 5)
        self.assertEqual(int(crop[-1, -1, 0]), 8 * 20 + 13)

    def test_batched_and_full_fraction(self):
        images = tf.stack([_index_image(6, 4)] * 2)
        crop = center_crop(images, crop_fraction=1.0)  # side 4, top (6 - 4) // 2 = 1
        self.assertEqual(crop.shape, (2, 4, 4, 1))
        self.assertAllEqual(crop[1, :, :, 0], np.arange(4, 20).reshape(4, 4))

    def test_crop_window_hand_computed(self):
        # 40 x 30, 0.875: side round(26.25) = 26, top (40 - 26) // 2 = 7, left (30 - 26) // 2 = 2.
        self.assertAllEqual(crop_window(40, 30, 0.875), (7, 2, 26, 26))
        # 2 x 9 at 0.1: side max(round(0.2), 1) = 1.
        self.assertAllEqual(crop_window(tf.constant(2), tf.constant(9), 0.1), (0, 4, 1, 1))
        # No crop (the `none` and `light` recipes): the whole image.
        self.assertAllEqual(crop_window(40, 30, None), (0, 0, 40, 30))

    def test_bad_fraction(self):
        with self.assertRaisesRegex(ValueError, "Received: crop_fraction=1.5"):
            center_crop(_index_image(4, 4), crop_fraction=1.5)
        with self.assertRaisesRegex(ValueError, "Received: crop_fraction=0.0"):
            crop_window(4, 4, 0.0)


class RandomCropTest(tf.test.TestCase):
    def test_area_and_aspect_ranges(self):
        image = _index_image(100, 120)
        shapes = set()
        for seed in range(40):
            crop = random_crop(image, tf.constant([seed, 3]))
            height, width = crop.shape[:2]
            shapes.add((height, width))
            self.assertBetween(height * width / (100 * 120), 0.08 - 0.01, 1.0)
            self.assertBetween(width / height, 0.75 - 0.03, 4 / 3 + 0.03)
            # The crop is a contiguous window of the image.
            top, left = divmod(int(crop[0, 0, 0]), 120)
            self.assertAllEqual(crop, image[top : top + height, left : left + width])
        self.assertGreater(len(shapes), 20)

    def test_deterministic_given_seed(self):
        image = _index_image(50, 60)
        first = random_crop(image, tf.constant([1, 2]))
        self.assertAllEqual(first, random_crop(image, tf.constant([1, 2])))
        self.assertNotAllEqual(first.shape, random_crop(image, tf.constant([2, 2])).shape)

    def test_fallback_to_center_crop(self):
        # A 100x1 strip: every crop with aspect in [3/4, 4/3] is 1x1 (area 1% < 8%), so all
        # attempts fail and the centre crop (side round(0.875) = 1 at row 99 // 2 = 49) is used.
        crop = random_crop(_index_image(100, 1), tf.constant([0, 0]))
        self.assertAllEqual(crop, [[[49]]])


class TrainTest(tf.test.TestCase):
    def test_imagenet_train_shapes_range_and_flip(self):
        rng = np.random.default_rng(0)
        image = tf.constant(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
        low = (0.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        high = (1.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        recipe = Recipe("imagenet")
        for seed in range(5):
            out = recipe.train(
                image, tf.constant([seed, 0]), image_size=16, mean=IMAGENET_MEAN, std=IMAGENET_STD
            )
            self.assertEqual(out.shape, (16, 16, 3))
            self.assertEqual(out.dtype, tf.float32)
            self.assertTrue(np.all(out.numpy() >= low - 1e-5))
            self.assertTrue(np.all(out.numpy() <= high + 1e-5))
        # A left-right ramp: flipped outputs decrease along x, the others increase.
        ramp = tf.constant(np.tile(np.arange(64, dtype=np.uint8)[None, :, None] * 4, (64, 1, 1)))
        directions = set()
        for seed in range(12):
            out = recipe.train(ramp, tf.constant([seed, 1]), image_size=8, mean=(0.5,), std=(0.5,))
            directions.add(bool(out[0, -1, 0] > out[0, 0, 0]))
        self.assertEqual(directions, {True, False})


class EvalPreprocessingTest(tf.test.TestCase):
    def test_crop_then_2x_downscale_is_block_means(self):
        # 8 x 10 image 10 * y + x; crop 0.5: side round(4) = 4 at (top, left) = (2, 3), rows 2..5,
        # cols 3..6. Bilinear 4 -> 2 samples input coordinates 0.5 and 2.5: the 2 x 2 block means.
        image = tf.constant(
            (10 * np.arange(8)[:, None] + np.arange(10)).astype(np.uint8)[..., None]
        )
        out = preprocess_for_eval(image, image_size=2, crop_fraction=0.5, **RAW)
        expected = [[(23 + 24 + 33 + 34) / 4, (25 + 26 + 35 + 36) / 4], [48.5, 50.5]]
        self.assertAllClose(out[..., 0], expected, atol=1e-4)

    def test_2x_upscale_hand_computed(self):
        # 2 -> 4 samples input coordinates -0.25, 0.25, 0.75, 1.25 (outside: the edge pixel), so a
        # row (a, b) becomes (a, 3a/4 + b/4, a/4 + 3b/4, b); 255 normalises to (1 - 0.5) / 0.5 = 1.
        image = tf.constant(np.array([[0, 40], [80, 120]], np.uint8)[..., None])
        out = Recipe("none").eval(image, image_size=4, **RAW)
        row0, row3 = [0, 10, 30, 40], [80, 90, 110, 120]
        row1 = [0.75 * a + 0.25 * b for a, b in zip(row0, row3)]
        row2 = [0.25 * a + 0.75 * b for a, b in zip(row0, row3)]
        self.assertAllClose(out[..., 0], [row0, row1, row2, row3], atol=1e-4)
        white = Recipe("none").eval(
            tf.fill([3, 5, 1], tf.constant(255, tf.uint8)), image_size=4, mean=(0.5,), std=(0.5,)
        )
        self.assertAllClose(white, np.ones((4, 4, 1)))

    def test_each_recipe_matches_the_numpy_reference(self):
        rng = np.random.default_rng(1)
        image = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
        mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
        # `imagenet` keeps side round(0.875 * 13) = 11; `light` and `none` resize everything.
        for name, fraction in (("imagenet", 0.875), ("light", None), ("none", None)):
            recipe = Recipe(name)
            self.assertEqual(recipe.eval_crop_fraction(5), fraction)
            out = recipe.eval(tf.constant(image), image_size=5, mean=mean, std=std)
            self.assertAllClose(out, _numpy_eval(image, 5, fraction, mean, std), atol=1e-4)

    def test_same_size_is_only_normalised(self):
        image = np.random.default_rng(2).integers(0, 256, (6, 6, 1), dtype=np.uint8)
        for method in ("bilinear", "bicubic"):
            out = preprocess_for_eval(
                image,
                image_size=6,
                crop_fraction=1.0,
                resize_method=method,
                mean=(0.5,),
                std=(0.25,),
            )
            # No resampling: exactly the float32 normalisation of the pixels.
            f32 = np.float32
            self.assertAllEqual(out, (image.astype(f32) / f32(255) - f32(0.5)) / f32(0.25))

    def test_a_batch_in_a_traced_graph_equals_each_image(self):
        # As the export calls it: one graph for every N, H, W (unknown when tracing).
        kwargs = dict(image_size=7, mean=(0.3,), std=(0.2,), crop_fraction=0.875)
        traced = tf.function(
            lambda images: preprocess_for_eval(images, **kwargs),
            input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8)],
        )
        rng = np.random.default_rng(3)
        for shape in ((2, 12, 9, 1), (3, 7, 7, 1), (1, 30, 41, 1)):
            images = rng.integers(0, 256, shape, dtype=np.uint8)
            out = traced(tf.constant(images))
            self.assertEqual(out.shape, (shape[0], 7, 7, 1))
            for i in range(shape[0]):
                # The same up to float rounding (the graph may order the arithmetic otherwise).
                self.assertAllClose(
                    out[i], preprocess_for_eval(images[i], **kwargs), atol=1e-5, rtol=0
                )
                self.assertAllClose(
                    out[i], _numpy_eval(images[i], 7, 0.875, (0.3,), (0.2,)), atol=1e-4
                )
        self.assertLen(traced._list_all_concrete_functions(), 1)

    def test_bad_resize_method(self):
        with self.assertRaisesRegex(ValueError, "Received: resize_method='nearest'"):
            resize(tf.zeros([4, 4, 1]), 2, "nearest")


class NormalizationTest(tf.test.TestCase):
    def test_normalization(self):
        self.assertEqual(default_normalization(3), (IMAGENET_MEAN, IMAGENET_STD))
        self.assertEqual(default_normalization(1), ((0.5,), (0.5,)))
        out = normalize_images(
            tf.constant([[0, 51, 255]], tf.uint8)[..., None], mean=(0.2,), std=(0.4,)
        )
        self.assertAllClose(out[..., 0], [[-0.5, 0.0, 2.0]])
        with self.assertRaisesRegex(ValueError, "Received: channels=0"):
            default_normalization(0)
