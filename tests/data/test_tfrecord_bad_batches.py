"""Undecodable records spread over the batches of `tfrecord_source`: which batches an epoch yields
with `skip_bad_files` (every record used, each bad one logged once, a resumed epoch the same
batches), where it stops without it, and how evaluation batches the readable records; and that
preparing a batch whole (`whole_batch`) gives exactly what the per-record path gives."""

import importlib
import os
import re
from unittest import mock

import numpy as np
import tensorflow as tf

from saccader_tf.cli.error_report import data_problem
from saccader_tf.data import make_source
from tests.support.tfrecord_fixture import (
    CLASSES,
    write_corrupt_jpeg,
    write_mixed_folder,
    write_shards,
)

BATCH = 3
TRAIN, VAL = 18, 6  # readable images; 3 corrupt training records and 1 corrupt evaluation record
BAD_TRAIN = 3
reading_module = importlib.import_module("saccader_tf.data.tfrecord_batches")


def write_bad_shards(root):
    """`TRAIN` + 3 corrupt training records (21 = 7 batches of 3: none is dropped) and `VAL` + 1
    corrupt evaluation record, in 3 shards under `root/shards`; returns that folder."""
    folder = os.path.join(root, "images")
    write_mixed_folder(folder, train=TRAIN, val=VAL)
    for name in CLASSES:
        write_corrupt_jpeg(os.path.join(folder, "train", name, "zz_corrupt.jpg"))
    write_corrupt_jpeg(os.path.join(folder, "val", CLASSES[0], "zz_corrupt.jpg"))
    return write_shards(folder, os.path.join(root, "shards"), shards=3)


def bad_source(shards, **kwargs):
    kwargs = {"batch_size": BATCH, "seed": 4, "image_size": 28, "augment": "none", **kwargs}
    return make_source(f"tfrecord:{shards}", **kwargs)


def batches_of(dataset):
    return [tuple(np.asarray(x) for x in batch) for batch in dataset.as_numpy_iterator()]


def run_until_error(dataset):
    """`(batches yielded, the launcher's line of the error)` of a pipeline that must stop."""
    yielded = 0
    try:
        for _ in dataset:
            yielded += 1
    except tf.errors.InvalidArgumentError as error:
        return yielded, data_problem(error)
    raise AssertionError("the pipeline did not stop")


class _BadShardsTestCase(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        # A folder of its own per test: each bad record is logged once per process and folder.
        self.shards = write_bad_shards(self.create_tempdir().full_path)

    def assertSameBatches(self, expected, actual):
        self.assertEqual(len(expected), len(actual))
        for want, got in zip(expected, actual):
            self.assertAllEqual(want[1], got[1])
            self.assertAllClose(want[0], got[0], atol=1e-6, rtol=0)

    def _clean_shards(self):
        """The same folder without the corrupt files, as shards."""
        root = self.create_tempdir().full_path
        write_mixed_folder(os.path.join(root, "images"), train=TRAIN + BAD_TRAIN, val=VAL)
        return write_shards(os.path.join(root, "images"), os.path.join(root, "shards"), shards=3)


class BadBatchesTest(_BadShardsTestCase):
    def test_skipping_logs_each_bad_record_once_and_uses_every_record(self):
        source = bad_source(self.shards, skip_bad_files=True)
        with self.assertLogs("absl", "WARNING") as logs:
            epoch = batches_of(source.train_epoch(0))
        self.assertLen(epoch, (TRAIN + BAD_TRAIN) // BATCH)
        warned = [m for m in logs.output if "Skipping record" in m]
        self.assertLen(warned, BAD_TRAIN)  # every bad record reached a batch, each logged once
        pattern = (
            r"Skipping record \d+ of shard \S+/train-0000[0-2]-of-00003: its image cannot be "
            r"decoded \(\d+ record\(s\) skipped in this process\)\."
        )
        for message in warned:
            self.assertRegex(message, pattern)
        images = np.concatenate([b[0] for b in epoch]).reshape(TRAIN + BAD_TRAIN, -1)
        self.assertTrue(np.all(images.std(axis=1) > 0))  # no zero placeholder reached a batch
        with self.assertNoLogs("absl", "WARNING"):  # already counted: not logged again
            again = batches_of(source.train_epoch(0))
        self.assertSameBatches(epoch, again)

    def test_bad_rows_take_a_readable_row_of_their_batch(self):
        epoch = batches_of(bad_source(self.shards, skip_bad_files=True).train_epoch(1))
        distinct = [len({row.tobytes() for row in images}) for images, _ in epoch]
        repeated = sum(BATCH - n for n in distinct)
        self.assertEqual(repeated, BAD_TRAIN)  # each bad row repeats another row of its batch

    def test_resumed_epochs_repeat_the_batches(self):
        clean = self._clean_shards()
        for shards in (clean, self.shards):
            source = bad_source(shards, skip_bad_files=True, augment="imagenet")
            epoch = batches_of(source.train_epoch(2))
            for skip in (1, 4):
                self.assertSameBatches(epoch[skip:], batches_of(source.train_epoch(2, skip)))

    def test_without_skip_the_first_bad_record_stops_training_and_eval(self):
        source = bad_source(self.shards)
        yielded, line = run_until_error(source.train_epoch(0))
        where = re.match(r"Cannot decode the image of record (\d+) of shard (\S+): ", line)
        self.assertIsNotNone(where, line)
        self.assertIn("Write the shard again, or pass --skip_bad_files", line)
        # It is the first bad record in the epoch's order: the batches before it came out whole.
        with_skip = batches_of(bad_source(self.shards, skip_bad_files=True).train_epoch(0))
        distinct = [len({row.tobytes() for row in images}) for images, _ in with_skip]
        self.assertEqual(yielded, next(i for i, n in enumerate(distinct) if n < BATCH))
        _, eval_line = run_until_error(source.eval)
        self.assertRegex(eval_line, r"^Cannot decode the image of record \d+ of shard \S+valid")

    def test_eval_leaves_the_bad_record_out_and_batches_the_rest(self):
        source = bad_source(self.shards, skip_bad_files=True)
        sizes = [len(labels) for _, labels in source.eval.as_numpy_iterator()]
        self.assertEqual(sizes, [BATCH, BATCH])  # 7 records, 1 left out, batches of 3


def per_record(make):
    """`make()`'s dataset built with every batch refused whole, so that all its records take the
    per-record path (`Reading.tolerant`, `checked`)."""
    whole = reading_module.whole_batch

    def refused(prepare, *rows):
        with tf.control_dependencies([tf.debugging.Assert(False, ["refused whole"])]):
            return tuple(tf.identity(x) for x in whole(prepare, *rows))

    with mock.patch.object(reading_module, "whole_batch", refused):
        return make()


def no_per_record(make):
    """`make()`'s dataset built with a per-record path that always fails."""

    def tolerant(self, prepare):
        def one(*row):
            failing = tf.debugging.Assert(False, ["per-record path used"])
            with tf.control_dependencies([failing]):
                return tf.data.Dataset.from_tensors(row).map(lambda *r: (*prepare(*r[2:]), True))

        return lambda *row: one(*row).map(lambda i, label, ok: (i, label, ok, *row[:2]))

    with mock.patch.object(reading_module.Reading, "tolerant", tolerant):
        return make()


class WholeBatchesTest(_BadShardsTestCase):
    """The source's batches against the same batches read record by record."""

    def assertLikePerRecord(self, make, expect_bad=False):
        expected = batches_of(per_record(make))
        self.assertSameBatches(expected, batches_of(make()))
        if not expect_bad:  # no bad record: the per-record path is never needed
            self.assertSameBatches(expected, batches_of(no_per_record(make)))

    def test_clean_shards(self):
        source = bad_source(self._clean_shards(), augment="imagenet")
        for epoch in (0, 1):
            self.assertLikePerRecord(lambda: source.train_epoch(epoch))
        self.assertLikePerRecord(lambda: source.eval)
        self.assertLikePerRecord(lambda: source.train_epoch(0, 5))

    def test_bad_records_skipped(self):
        for augment in ("none", "imagenet"):
            source = bad_source(self.shards, skip_bad_files=True, augment=augment)
            for epoch in (0, 3):
                self.assertLikePerRecord(lambda: source.train_epoch(epoch), expect_bad=True)
            self.assertLikePerRecord(lambda: source.eval, expect_bad=True)

    def test_resumed_epochs(self):
        clean = bad_source(self._clean_shards(), augment="imagenet", seed=7)
        bad = bad_source(self.shards, skip_bad_files=True, augment="imagenet", seed=7)
        for skip in (1, 3, 6):
            self.assertLikePerRecord(lambda: clean.train_epoch(1, skip))
            self.assertLikePerRecord(lambda: bad.train_epoch(1, skip), expect_bad=True)

    def test_the_same_error_without_skip(self):
        source = bad_source(self.shards)
        for make in (lambda: source.train_epoch(0), lambda: source.eval):
            self.assertEqual(run_until_error(per_record(make)), run_until_error(make()))

    def test_training_batches_keep_a_static_batch_size(self):
        # What tf.distribute reads to split a batch across replicas (compute_batch_size).
        for shards in (self.shards, self._clean_shards()):
            spec = bad_source(shards, skip_bad_files=True).train_epoch(0).element_spec
            self.assertEqual((spec[0].shape, spec[1].shape), ((BATCH, 28, 28, 3), (BATCH,)))
