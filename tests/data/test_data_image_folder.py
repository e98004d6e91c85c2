"""Image folder source: listing, labels, channel conversion and naming of unreadable files."""

import contextlib
import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data import image_file_problem, image_folder_source, list_image_folder, make_source

_RNG = np.random.default_rng(0)


def _rgb(height, width):
    return _RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _write(path, image, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, format=fmt)
    return path


def _write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _truncated_png():
    """A PNG whose signature is valid but whose body is cut: passes the listing check only."""
    buffer = io.BytesIO()
    Image.fromarray(_rgb(16, 16)).save(buffer, format="PNG")
    return buffer.getvalue()[:60]


def _make_folder(root):
    """train: cat = RGB png, RGB jpg, grayscale png, RGBA png; dog = jpeg, bmp, gif. val: 1 + 2."""
    train, val = os.path.join(root, "train"), os.path.join(root, "val")
    _write(f"{train}/cat/a.png", Image.fromarray(_rgb(20, 30)))
    _write(f"{train}/cat/b.jpg", Image.fromarray(_rgb(25, 25)))
    _write(f"{train}/cat/gray.png", Image.fromarray(_rgb(18, 22)[..., 0], mode="L"))
    rgba = np.concatenate([_rgb(21, 17), np.full((21, 17, 1), 128, np.uint8)], axis=2)
    _write(f"{train}/cat/rgba.png", Image.fromarray(rgba, mode="RGBA"))
    _write(f"{train}/dog/c.JPEG", Image.fromarray(_rgb(30, 20)), fmt="JPEG")
    _write(f"{train}/dog/d.bmp", Image.fromarray(_rgb(12, 40)))
    _write(f"{train}/dog/e.gif", Image.fromarray(_rgb(16, 16)).convert("P"))
    _write_bytes(f"{train}/dog/notes.txt", b"not an image, ignored by extension")
    _write(f"{val}/cat/x.png", Image.fromarray(_rgb(20, 20)))
    _write(f"{val}/dog/y.jpg", Image.fromarray(_rgb(26, 33)))
    _write(f"{val}/dog/z.png", Image.fromarray(_rgb(26, 33)[..., 0], mode="L"))
    return root


def _count(dataset):
    return sum(int(labels.shape[0]) for _, labels in dataset)


class ImageFolderSourceTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.root = _make_folder(self.create_tempdir().full_path)

    def test_labels_shapes_and_channels(self):
        source = image_folder_source(self.root, image_size=12, batch_size=7, seed=0)
        self.assertEqual(source.class_names, ("cat", "dog"))
        self.assertEqual((source.num_classes, source.channels), (2, 3))
        self.assertEqual((source.train_size, source.eval_size), (7, 3))
        images, labels = next(iter(source.train_epoch(0)))
        self.assertEqual(images.shape, (7, 12, 12, 3))
        self.assertEqual(images.dtype, tf.float32)
        self.assertEqual(labels.dtype, tf.int32)
        self.assertAllEqual(np.sort(labels.numpy()), [0, 0, 0, 0, 1, 1, 1])
        eval_images, eval_labels = next(iter(source.eval))
        self.assertEqual(eval_images.shape, (3, 12, 12, 3))
        self.assertAllEqual(eval_labels, [0, 1, 1])  # sorted by class, then path

    def test_single_channel_and_make_source(self):
        source = make_source(f"folder:{self.root}", image_size=10, batch_size=2, seed=1, channels=1)
        self.assertEqual(source.name, f"folder:{self.root}")
        self.assertEqual((source.channels, source.mean, source.std), (1, (0.5,), (0.5,)))
        images, _ = next(iter(source.train_epoch(0)))
        self.assertEqual(images.shape, (2, 10, 10, 1))
        self.assertTrue(np.all(images.numpy() >= -1.0) and np.all(images.numpy() <= 1.0))

    def test_reproducible_with_seed(self):
        def first_epoch(seed):
            source = image_folder_source(self.root, image_size=8, batch_size=7, seed=seed)
            return next(iter(source.train_epoch(0)))[0].numpy()

        self.assertAllEqual(first_epoch(5), first_epoch(5))
        self.assertNotAllClose(first_epoch(5), first_epoch(6))

    def test_corrupt_and_empty_files_are_named(self):
        corrupt = _write_bytes(
            f"{self.root}/train/cat/corrupt.jpg", b"\x00\x01random bytes, not a jpeg" * 4
        )
        with self.assertRaisesRegex(
            ValueError, "Cannot read image file .*corrupt.jpg.*--skip_bad_files"
        ):
            image_folder_source(self.root, image_size=8, batch_size=2)
        os.remove(corrupt)
        _write_bytes(f"{self.root}/val/dog/empty.png", b"")
        with self.assertRaisesRegex(ValueError, "empty.png: the file is empty"):
            image_folder_source(self.root, image_size=8, batch_size=2)

    def test_undecodable_file_is_named(self):
        _write_bytes(f"{self.root}/val/dog/truncated.png", _truncated_png())
        self.assertIsNone(image_file_problem(f"{self.root}/val/dog/truncated.png"))
        # Streamed: when the pipeline reaches it; decoded once: when the source is made.
        source = image_folder_source(self.root, image_size=8, batch_size=4, cache="stream")
        with self.assertRaisesRegex(tf.errors.OpError, "Cannot read image file .*truncated.png"):
            _count(source.eval)
        with self.assertRaisesRegex(
            ValueError, "Cannot read image file .*truncated.png.*--skip_bad"
        ):
            image_folder_source(self.root, image_size=8, batch_size=4, cache="memory")

    def test_skip_bad_files(self):
        _write_bytes(f"{self.root}/train/cat/corrupt.jpg", b"\x00garbage" * 10)
        _write_bytes(f"{self.root}/train/dog/empty.png", b"")
        _write_bytes(f"{self.root}/train/dog/truncated.png", _truncated_png())
        _write_bytes(f"{self.root}/val/cat/truncated.png", _truncated_png())
        for cache in ("memory", "stream"):
            with self.assertLogs("absl", level="WARNING") as logs:
                source = image_folder_source(
                    self.root, image_size=8, batch_size=1, skip_bad_files=True, cache=cache
                )
                # The epoch keeps floor(8 listed files / 1) batches: the truncated file's slot is
                # filled by the next file of the listing; evaluation drops its truncated file.
                self.assertEqual(_count(source.train_epoch(0)), 8)
                self.assertEqual(_count(source.eval), 3)
            summary = [m for m in logs.output if "Skipped" in m]
            self.assertLen(
                summary, 1
            )  # one counted summary for train/ (nothing was left out of val/)
            self.assertRegex(
                summary[0], r"Skipped 2 of 10 image files in .*train \(.*1 x the file is empty"
            )
            self.assertEqual((source.train_size, source.eval_size), (8, 4))  # signature-checked
            if cache == "memory":  # the warnings are given once per file and process
                self.assertRegex(
                    "\n".join(logs.output),
                    r"Skipping image file .*truncated.png: it cannot be decoded; its slot is "
                    r"filled by .*",
                )

    def test_a_corrupt_file_keeps_the_epoch_full_and_resumable(self):
        """Epoch length floor(files / batch) with a corrupt file, and a resumed epoch (which skips
        slots before decoding) sees exactly the uninterrupted epoch's later batches."""
        _write_bytes(f"{self.root}/train/cat/truncated.png", _truncated_png())  # 8 files listed
        for cache in ("memory", "stream"):
            source = image_folder_source(
                self.root, image_size=8, batch_size=3, seed=4, skip_bad_files=True, cache=cache
            )
            full = [x.numpy() for x, _ in source.train_epoch(1)]
            self.assertLen(full, 8 // 3)
            resumed = [x.numpy() for x, _ in source.train_epoch(1, 1)]
            self.assertAllEqual(np.stack(full[1:]), np.stack(resumed))

    def test_mismatched_classes(self):
        _write(f"{self.root}/val/bird/q.png", Image.fromarray(_rgb(8, 8)))
        with self.assertRaisesRegex(ValueError, r"differ.*unexpected \['bird'\]"):
            image_folder_source(self.root, image_size=8, batch_size=2)

    def test_eval_folder_fallback_and_missing(self):
        os.rename(f"{self.root}/val", f"{self.root}/validation")
        self.assertEqual(list_image_folder(self.root).eval_split, "validation")
        os.rename(f"{self.root}/validation", f"{self.root}/elsewhere")
        with self.assertRaisesRegex(FileNotFoundError, "no evaluation sub-folder"):
            list_image_folder(self.root)
        with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
            list_image_folder(f"{self.root}/nope")

    def test_batch_larger_than_train_set(self):
        with self.assertRaisesRegex(ValueError, "batch_size=64, training images=7"):
            image_folder_source(self.root, image_size=8, batch_size=64)

    def test_evaluation_only_skips_the_training_checks_and_decoding(self):
        # --stage=eval with the default batch size on a small folder: only the evaluation split
        # is read, decoded into memory once; the training images are not decoded up front.
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            source = image_folder_source(
                self.root, image_size=8, batch_size=64, cache="memory", evaluation_only=True
            )
        self.assertIn("evaluation images", out.getvalue())
        self.assertNotIn("training images", out.getvalue())
        self.assertEqual(_count(source.eval), source.eval_size)
        self.assertGreater(source.eval_size, 0)
