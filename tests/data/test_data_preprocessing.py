"""ImageNet recipe: centre crop, Inception random crop with fallback, flip, normalisation."""

import numpy as np
import tensorflow as tf

from saccader_tf.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    center_crop,
    default_normalization,
    normalize_images,
    preprocess_for_eval,
    preprocess_for_train,
    random_crop,
)


def _index_image(height, width, channels=1):
    """`image[y, x, c] = y * width + x` (as int32) so crops can be located from their values."""
    values = np.arange(height * width, dtype=np.int32).reshape(height, width, 1)
    return tf.constant(np.repeat(values, channels, axis=2))


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

    def test_bad_fraction(self):
        with self.assertRaisesRegex(ValueError, "Received: crop_fraction=1.5"):
            center_crop(_index_image(4, 4), crop_fraction=1.5)


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


class PreprocessTest(tf.test.TestCase):
    def test_train_shapes_range_and_flip(self):
        rng = np.random.default_rng(0)
        image = tf.constant(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
        low = (0.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        high = (1.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        for seed in range(5):
            out = preprocess_for_train(
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
            out = preprocess_for_train(
                ramp, tf.constant([seed, 1]), image_size=8, mean=(0.5,), std=(0.5,)
            )
            directions.add(bool(out[0, -1, 0] > out[0, 0, 0]))
        self.assertEqual(directions, {True, False})

    def test_eval_is_center_crop_resize(self):
        image = tf.constant(np.full((32, 48, 1), 255, np.uint8))
        out = preprocess_for_eval(image, image_size=7, mean=(0.5,), std=(0.5,))
        self.assertEqual(out.shape, (7, 7, 1))
        self.assertAllClose(out, np.ones((7, 7, 1)))  # (255 / 255 - 0.5) / 0.5

    def test_normalization(self):
        self.assertEqual(default_normalization(3), (IMAGENET_MEAN, IMAGENET_STD))
        self.assertEqual(default_normalization(1), ((0.5,), (0.5,)))
        out = normalize_images(
            tf.constant([[0, 51, 255]], tf.uint8)[..., None], mean=(0.2,), std=(0.4,)
        )
        self.assertAllClose(out[..., 0], [[-0.5, 0.0, 2.0]])
        with self.assertRaisesRegex(ValueError, "Received: channels=0"):
            default_normalization(0)
