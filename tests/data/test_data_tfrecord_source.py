"""`--dataset=tfrecord:DIR` read back against the image folder the shards were written from:
labels, offset, class names, channels, pixels (Pillow's decoding of the PNG files), addressable
epochs, and undecodable records with and without `skip_bad_files`."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.cli.error_report import data_problem
from saccader_tf.data import make_source
from saccader_tf.data.image_folder_listing import list_image_folder
from saccader_tf.utils.errors import BadValueError, MissingFileError
from tests.support.tfrecord_fixture import (
    CLASSES,
    write_corrupt_jpeg,
    write_mixed_folder,
    write_shards,
)

RAW = dict(image_size=28, augment="none")


class TfrecordSourceTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"tfrec_{os.getpid()}")
        cls.folder = os.path.join(cls.root, "mixed")
        write_mixed_folder(cls.folder, train=24, val=6)
        cls.shards = write_shards(cls.folder, os.path.join(cls.root, "shards"), shards=3)
        cls.one_based = write_shards(
            cls.folder, os.path.join(cls.root, "one_based"), shards=2, label_offset=1
        )

    def _source(self, location=None, **kwargs):
        kwargs = {"batch_size": 4, "seed": 3, **RAW, **kwargs}
        return make_source(f"tfrecord:{location or self.shards}", **kwargs)

    def test_eval_is_the_folder_in_order_with_its_pixels_and_names(self):
        source = self._source(channels=3)
        listing = list_image_folder(self.folder)
        self.assertEqual((source.num_classes, source.class_names), (3, CLASSES))
        self.assertEqual((source.train_size, source.eval_size, source.channels), (24, 6, 3))
        images, labels = (np.concatenate(x) for x in zip(*source.eval.as_numpy_iterator()))
        self.assertAllEqual(labels, listing.eval_labels)
        mean, std = np.array(source.mean), np.array(source.std)
        for image, path in zip(images, listing.eval_paths):
            if path.endswith(".png"):  # 28 x 28: no resize, so Pillow's pixels exactly
                pixels = np.asarray(Image.open(path).convert("RGB"), np.float64)
                self.assertAllClose(image, (pixels / 255 - mean) / std, atol=1e-5)

    def test_a_batch_larger_than_the_training_records_only_for_evaluation(self):
        with self.assertRaisesRegex(ValueError, r"training records \(24\).*batch_size=64"):
            self._source(batch_size=64)
        source = self._source(batch_size=64, evaluation_only=True)  # --stage=eval
        labels = np.concatenate([labels for _, labels in source.eval.as_numpy_iterator()])
        self.assertLen(labels, 6)

    def test_channels_auto_and_conversion(self):
        self.assertEqual(self._source().channels, 3)  # mixed gray and colour
        gray_folder = os.path.join(self.root, "gray")
        write_mixed_folder(gray_folder, train=6, val=3, gray_only=True)
        gray = write_shards(gray_folder, os.path.join(self.root, "gray_shards"), shards=2)
        source = self._source(gray)
        self.assertEqual((source.channels, source.mean, source.std), (1, (0.5,), (0.5,)))
        images, _ = next(source.eval.as_numpy_iterator())
        self.assertEqual(images.shape[1:], (28, 28, 1))
        colour_as_gray = self._source(channels=1)
        self.assertEqual(next(iter(colour_as_gray.eval))[0].shape[1:], (28, 28, 1))

    def test_label_offset(self):
        _, expected = (np.concatenate(x) for x in zip(*self._source().eval.as_numpy_iterator()))
        one_based = self._source(self.one_based, label_offset=1)
        _, labels = (np.concatenate(x) for x in zip(*one_based.eval.as_numpy_iterator()))
        self.assertAllEqual(labels, expected)
        self.assertEqual((one_based.num_classes, one_based.class_names), (3, CLASSES))
        # Read without the offset: labels 1..3, so 4 classes, class 0 has no name.
        unshifted = self._source(self.one_based)
        self.assertEqual(unshifted.num_classes, 4)
        self.assertEqual(unshifted.class_names, ("0",) + CLASSES)
        pattern = r"Shard .*train-0000.-of-00003 holds label 0, which is -1 after --label_offset=1"
        with self.assertRaisesRegex(BadValueError, pattern):
            self._source(label_offset=1)

    def test_epochs_are_addressable_and_cover_every_record_once(self):
        source = self._source(augment="imagenet", seed=5)
        epoch0 = list(source.train_epoch(0).as_numpy_iterator())
        self.assertLen(epoch0, 6)  # 24 // 4
        labels = np.concatenate([b[1] for b in epoch0])
        self.assertAllEqual(np.bincount(labels), [8, 8, 8])  # every record once
        resumed = list(source.train_epoch(0, skip_batches=4).as_numpy_iterator())
        self.assertLen(resumed, 2)
        for (a_images, a_labels), (b_images, b_labels) in zip(epoch0[4:], resumed):
            self.assertAllEqual(a_labels, b_labels)
            self.assertAllEqual(a_images, b_images)
        again = list(source.train_epoch(0).as_numpy_iterator())
        self.assertAllEqual(
            np.concatenate([b[0] for b in again]), np.concatenate([b[0] for b in epoch0])
        )
        epoch1 = np.concatenate([b[1] for b in source.train_epoch(1).as_numpy_iterator()])
        self.assertNotAllEqual(epoch1, labels)

    def test_missing_shards_and_damaged_shard(self):
        with self.assertRaisesRegex(MissingFileError, "does not exist"):
            self._source(os.path.join(self.root, "nowhere"))
        only_train = os.path.join(self.root, "only_train")
        os.makedirs(only_train, exist_ok=True)
        source_shard = os.path.join(self.shards, "train-00000-of-00003")
        tf.io.gfile.copy(source_shard, os.path.join(only_train, "train-00000-of-00001"), True)
        with self.assertRaisesRegex(MissingFileError, "No validation-\\* shard"):
            self._source(only_train)
        damaged = os.path.join(self.root, "damaged")
        os.makedirs(damaged, exist_ok=True)
        for name in os.listdir(self.shards):
            with open(os.path.join(self.shards, name), "rb") as handle:
                data = handle.read()
            with open(os.path.join(damaged, name), "wb") as handle:
                handle.write(data[: len(data) // 2] if name.startswith("train-00001") else data)
        with self.assertRaisesRegex(BadValueError, "Cannot read shard .*train-00001-of-00003"):
            self._source(damaged)

    def test_glob_selects_shards(self):
        source = self._source(os.path.join(self.shards, "*-0000[01]-of-00003"))
        self.assertEqual(source.train_size + source.eval_size, 16 + 4)  # 8 + 8, 2 + 2


class BadRecordTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"tfrec_bad_{os.getpid()}")
        folder = os.path.join(root, "images")
        write_mixed_folder(folder, train=12, val=4)
        write_corrupt_jpeg(os.path.join(folder, "train", "bee", "zz_corrupt.jpg"))
        write_corrupt_jpeg(os.path.join(folder, "val", "ant", "zz_corrupt.jpg"))
        cls.shards = write_shards(folder, os.path.join(root, "shards"), shards=2)

    def _source(self, **kwargs):
        return make_source(f"tfrecord:{self.shards}", batch_size=4, seed=0, **RAW, **kwargs)

    def test_without_skip_the_error_names_the_shard(self):
        source = self._source()
        self.assertEqual(source.train_size, 13)  # the corrupt record is counted
        with self.assertRaises(tf.errors.InvalidArgumentError) as caught:
            for _ in source.train_epoch(0):
                pass
        line = data_problem(caught.exception)
        self.assertRegex(
            line, r"^Cannot decode the image of record \d+ of shard \S+/train-0000[01]-of-00002: "
        )
        self.assertIn("--skip_bad_files", line)
        with self.assertRaises(tf.errors.InvalidArgumentError):
            for _ in source.eval:
                pass

    def test_with_skip_epochs_keep_their_length_and_eval_drops_it(self):
        source = self._source(skip_bad_files=True)
        batches = list(source.train_epoch(0).as_numpy_iterator())
        self.assertLen(batches, 3)  # 13 // 4
        images = np.concatenate([b[0] for b in batches])
        # No placeholder reached the model: every row is a real image (not constant zeros).
        self.assertTrue(np.all(images.reshape(12, -1).std(axis=1) > 0))
        resumed = list(source.train_epoch(0, skip_batches=1).as_numpy_iterator())
        self.assertAllEqual(np.concatenate([b[0] for b in resumed]), images[4:])
        evaluated = sum(len(labels) for _, labels in source.eval.as_numpy_iterator())
        self.assertEqual(evaluated, 4)  # 5 records, the corrupt one left out
