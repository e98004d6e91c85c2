"""Image folders as a user has them: recipes, channel detection, decode-once cache, links, names."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data import ImageFiles, image_folder_source, list_image_folder
from saccader_tf.data.preprocessing import Recipe, light_max_shift

_RNG = np.random.default_rng(7)


def _save(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


def _gray(height, width):
    return _RNG.integers(0, 256, (height, width), dtype=np.uint8)


def _gray_folder(root, *, train=6, val=2, height=20, width=16):
    """Grayscale PNGs `root/{train,val}/{a,b}/<i>.png`, non-square."""
    for split, count in (("train", train), ("val", val)):
        for i in range(count):
            _save(f"{root}/{split}/{'ab'[i % 2]}/{i}.png", _gray(height, width), "L")
    return root


def _decoded(path, channels):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.image.rgb_to_grayscale(image) if channels == 1 else image


class RecipeTest(tf.test.TestCase):
    def test_none_is_a_plain_resize_pixel_for_pixel(self):
        root = _gray_folder(self.create_tempdir().full_path, train=2, val=2)
        source = image_folder_source(root, image_size=12, batch_size=1, augment="none")
        self.assertIsNone(source.crop_fraction)
        listing = list_image_folder(root)
        ((eval_images, _),) = list(source.eval.unbatch().batch(2))
        for i, path in enumerate(listing.eval_paths):
            expected = (tf.image.resize(_decoded(path, 1), [12, 12]) / 255.0 - 0.5) / 0.5
            self.assertAllEqual(eval_images[i], expected)
        # Training with `none` is the same transform (no crop, no flip, no shift).
        train = sorted(x.numpy().tobytes() for x, _ in source.train_epoch(3).unbatch())  # any order
        expected = sorted(
            ((tf.image.resize(_decoded(p, 1), [12, 12]) / 255.0 - 0.5) / 0.5).numpy().tobytes()
            for p in listing.train_paths
        )
        self.assertEqual(train, expected)

    def test_light_shifts_without_scale_change_or_flip(self):
        image = tf.constant(_RNG.integers(1, 256, (32, 32, 1), dtype=np.uint8))
        recipe = Recipe("light")
        self.assertFalse(recipe.flips)
        self.assertIsNone(recipe.eval_crop_fraction(32))
        shift = light_max_shift(32)
        self.assertEqual(shift, 2)
        resized = tf.image.resize(image, [32, 32]).numpy()[..., 0]
        seen = set()
        for seed in range(40):
            out = recipe.train(
                image, tf.constant([seed, 1]), image_size=32, mean=(0.0,), std=(1 / 255.0,)
            )
            out = out.numpy()[..., 0]
            # `out` equals `resized` moved by some (dy, dx) in [-2, 2]^2, zeros where it came in.
            matches = [
                (dy, dx)
                for dy in range(-shift, shift + 1)
                for dx in range(-shift, shift + 1)
                if np.allclose(out, _shifted(resized, dy, dx), atol=1e-3)
            ]
            self.assertLen(matches, 1)
            seen.add(matches[0])
        self.assertGreater(len(seen), 5)  # it does shift

    def test_only_imagenet_flips_or_crops_unless_asked(self):
        image = tf.constant(np.tile(np.arange(16, dtype=np.uint8)[None, :, None], (16, 1, 1)) * 10)
        unit = dict(image_size=16, mean=(0.0,), std=(1 / 255.0,))
        for name in ("none", "light"):
            for seed in range(20):
                out = Recipe(name).train(image, tf.constant([seed, 0]), **unit).numpy()[..., 0]
                row = out[8][out[8] > 0]
                self.assertTrue(np.all(np.diff(row) > 0), f"{name} flipped")  # left-to-right kept
        flipped = [
            Recipe("light", flip=True).train(image, tf.constant([s, 0]), **unit).numpy()[8, :, 0]
            for s in range(20)
        ]
        self.assertTrue(any(np.all(np.diff(r[r > 0]) < 0) for r in flipped))  # flips when asked
        self.assertEqual(Recipe("imagenet").eval_crop_fraction(224), 0.875)
        self.assertTrue(Recipe("imagenet").flips)
        self.assertFalse(Recipe("imagenet", flip=False).flips)
        with self.assertRaisesRegex(ValueError, "Received: recipe='fancy'"):
            Recipe("fancy")


def _shifted(image, dy, dx):
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


class ChannelsAndCacheTest(tf.test.TestCase):
    def test_auto_channels_grayscale_and_mixed(self):
        root = _gray_folder(self.create_tempdir().full_path)
        # A grayscale picture saved as RGB still counts as grayscale.
        _save(f"{root}/train/a/rgb_gray.png", np.repeat(_gray(20, 16)[..., None], 3, axis=2))
        source = image_folder_source(root, image_size=8, batch_size=2)
        self.assertEqual((source.channels, source.mean), (1, (0.5,)))
        self.assertEqual(next(iter(source.train_epoch(0)))[0].shape, (2, 8, 8, 1))
        _save(f"{root}/train/b/colour.png", _RNG.integers(0, 256, (20, 16, 3), dtype=np.uint8))
        mixed = image_folder_source(root, image_size=8, batch_size=2)
        self.assertEqual(mixed.channels, 3)
        self.assertEqual(next(iter(mixed.eval))[0].shape[-1], 3)
        forced = image_folder_source(root, image_size=8, batch_size=2, channels=1)
        self.assertEqual(forced.channels, 1)
        with self.assertRaisesRegex(ValueError, "Received: channels=2"):
            image_folder_source(root, image_size=8, batch_size=2, channels=2)

    def test_cached_and_streamed_batches_are_identical(self):
        root = self.create_tempdir().full_path
        for i in range(9):  # images of different sizes, colour
            height, width = 10 + i, 14 - i % 3
            _save(
                f"{root}/train/{'xyz'[i % 3]}/{i}.png",
                _RNG.integers(0, 256, (height, width, 3), dtype=np.uint8),
            )
            _save(
                f"{root}/val/{'xyz'[i % 3]}/{i}.jpg",
                _RNG.integers(0, 256, (height, width, 3), dtype=np.uint8),
            )
        for augment in ("light", "imagenet", "none"):
            batches = {}
            for cache in ("memory", "stream"):
                source = image_folder_source(
                    root, image_size=8, batch_size=2, seed=3, augment=augment, cache=cache
                )
                self.assertEqual(source.settings["augment"], augment)
                batches[cache] = (
                    [(x.numpy(), y.numpy()) for x, y in source.train_epoch(2)],
                    [(x.numpy(), y.numpy()) for x, y in source.eval],
                )
            for (a, b), (c, d) in zip(
                batches["memory"][0] + batches["memory"][1],
                batches["stream"][0] + batches["stream"][1],
            ):
                self.assertAllEqual(a, c)
                self.assertAllEqual(b, d)
            self.assertLen(batches["memory"][0], 9 // 2)

    def test_exif_orientation_is_not_applied_and_is_named(self):
        root = _gray_folder(self.create_tempdir().full_path, train=4, val=2)
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
        tall = _RNG.integers(0, 256, (30, 10, 3), dtype=np.uint8)
        Image.fromarray(tall).save(f"{root}/train/a/phone.jpg", exif=exif)
        with self.assertLogs("absl", level="WARNING") as logs:
            source = image_folder_source(root, image_size=8, batch_size=2, cache="memory")
        self.assertRegex(
            "\n".join(logs.output), r"1 of 5 sampled training images carry an EXIF orientation tag"
        )
        files = ImageFiles(list_image_folder(root).train_paths, [0] * 5, channels=source.channels)
        index = [os.path.basename(p) for p in files.paths].index(b"phone.jpg")
        self.assertEqual(files.decode_eagerly(index).shape[:2], (30, 10))  # as stored

    def test_auto_cache_streams_over_budget(self):
        root = _gray_folder(self.create_tempdir().full_path)
        small = image_folder_source(root, image_size=8, batch_size=2, cache_budget_bytes=1)
        large = image_folder_source(root, image_size=8, batch_size=2)
        for a, b in zip(small.train_epoch(1), large.train_epoch(1)):
            self.assertAllEqual(a[0], b[0])
        with self.assertRaisesRegex(ValueError, "Received: cache='disk'"):
            image_folder_source(root, image_size=8, batch_size=2, cache="disk")


class FolderListingTest(tf.test.TestCase):
    def test_symlink_loops_terminate_count_once_and_keep_labels(self):
        root = _gray_folder(self.create_tempdir().full_path, train=8, val=2)
        before = list_image_folder(root)
        os.symlink(".", f"{root}/train/a/self")  # a loop onto itself
        os.symlink(".", f"{root}/train/a/self2")  # two loops: exponential without a guard
        os.symlink("..", f"{root}/train/a/up")  # up to train/: would relabel b's images
        os.symlink(f"{root}/train/b", f"{root}/train/a/other_class")
        os.makedirs(f"{root}/train/a/deeper")
        os.symlink("../..", f"{root}/train/a/deeper/loop")
        outside = self.create_tempdir().full_path
        _save(f"{outside}/extra.png", _gray(20, 16), "L")
        os.symlink(outside, f"{root}/train/b/linked")  # a link out of the tree is read
        with self.assertLogs("absl", level="WARNING") as logs:
            after = list_image_folder(root)
        self.assertRegex("\n".join(logs.output), "symbolic-link loop")
        self.assertLen(after.train_paths, len(before.train_paths) + 1)
        labels = dict(zip(after.train_paths, after.train_labels))
        for path, label in zip(before.train_paths, before.train_labels):
            self.assertEqual(labels[path], label)
        self.assertEqual(labels[f"{root}/train/b/linked/extra.png"], 1)

    def test_non_utf8_file_names_open_and_are_named(self):
        root = _gray_folder(self.create_tempdir().full_path, train=4, val=2)
        name = os.fsdecode(b"caf\xe9.png")  # latin-1 bytes, not UTF-8
        _save(os.path.join(root, "train", "a", name), _gray(20, 16), "L")
        source = image_folder_source(root, image_size=8, batch_size=5, cache="stream")
        self.assertEqual(sum(1 for _ in source.train_epoch(0)), 1)
        with open(os.path.join(root, "train", "b", os.fsdecode(b"bad\xe9.png")), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
        with self.assertRaisesRegex(ValueError, r"Cannot read image file .*bad\\xe9\.png"):
            image_folder_source(root, image_size=8, batch_size=2)

    def test_one_bit_bmp_is_decoded(self):
        root = _gray_folder(self.create_tempdir().full_path, train=2, val=2)
        bits = (_gray(20, 20) > 127).astype(np.uint8) * 255
        Image.fromarray(bits).convert("1").save(f"{root}/train/a/bits.bmp")
        for cache in ("memory", "stream"):
            source = image_folder_source(
                root, image_size=20, batch_size=3, augment="none", cache=cache
            )
            images = np.concatenate([x.numpy() for x, _ in source.train_epoch(0)])
            restored = np.round((images * 0.5 + 0.5) * 255)
            self.assertTrue(any(np.array_equal(r[..., 0], bits) for r in restored))
