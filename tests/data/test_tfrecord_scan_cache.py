"""The shard scan kept in `tfrecord_scan.json`: reused while the shards and the label offset are
unchanged, scanned again when a shard changes, the offset changes or the file is damaged, and
never written by a worker that is not the chief."""

import json
import os
from unittest import mock

import tensorflow as tf

from saccader_tf.data import make_source, tfrecord_scan_cache
from saccader_tf.data.tfrecord_scan_cache import CACHE_NAME
from tests.support.tfrecord_fixture import CLASSES, write_mixed_folder, write_shards

RAW = dict(image_size=28, augment="none", batch_size=4, channels=3)


class ScanCacheTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"scan_{os.getpid()}")
        cls.folder = os.path.join(cls.root, "mixed")
        write_mixed_folder(cls.folder, train=12, val=6)

    def setUp(self):
        super().setUp()
        self.shards = write_shards(self.folder, self.create_tempdir().full_path, shards=3)
        self.cache = os.path.join(self.create_tempdir().full_path, "run", CACHE_NAME)

    def _source(self, **kwargs):
        return make_source(f"tfrecord:{self.shards}", scan_cache=self.cache, **RAW, **kwargs)

    def _scans_counted(self, **kwargs):
        """`(source, number of split scans)` with `scan_shards` counted."""
        real = tfrecord_scan_cache.scan_shards
        with mock.patch.object(tfrecord_scan_cache, "scan_shards", side_effect=real) as scan:
            source = self._source(**kwargs)
        return source, scan.call_count

    def test_second_source_reads_the_cache_and_gets_the_same_counts_and_names(self):
        first, scans = self._scans_counted()
        self.assertEqual(scans, 2)  # train and eval
        with open(self.cache) as handle:
            stored = json.load(handle)
        self.assertEqual(sum(stored["splits"]["train"]["scan"]["records"]), 12)
        self.assertEqual(stored["splits"]["eval"]["scan"]["names"], dict(zip("012", CLASSES)))
        second, scans = self._scans_counted()
        self.assertEqual(scans, 0)
        for source in (first, second):
            self.assertEqual((source.train_size, source.eval_size), (12, 6))
            self.assertEqual((source.num_classes, source.class_names), (3, CLASSES))

    def test_changed_shard_or_offset_scans_that_split_again(self):
        self._source()
        eval_shard = os.path.join(self.shards, sorted(os.listdir(self.shards))[-1])
        self.assertTrue(os.path.basename(eval_shard).startswith("validation-"))
        os.utime(eval_shard, ns=(1, 1))  # touched: another modification time
        _, scans = self._scans_counted()
        self.assertEqual(scans, 1)  # the evaluation split only
        _, scans = self._scans_counted(label_offset=0)
        self.assertEqual(scans, 0)
        shifted = write_shards(self.folder, self.create_tempdir().full_path, label_offset=1)
        self.shards = shifted
        source, scans = self._scans_counted(label_offset=1)
        self.assertEqual((scans, source.num_classes), (2, 3))

    def test_damaged_cache_is_scanned_over(self):
        os.makedirs(os.path.dirname(self.cache))
        with open(self.cache, "w") as handle:
            handle.write('{"version": 1, "splits": {"train": {"scan": [')
        source, scans = self._scans_counted()
        self.assertEqual((scans, source.train_size), (2, 12))
        with open(self.cache) as handle:
            self.assertEqual(json.load(handle)["version"], 1)  # rewritten whole

    def test_a_worker_other_than_the_chief_reads_but_never_writes(self):
        self._source(write_scan_cache=False)
        self.assertFalse(os.path.exists(self.cache))
        self._source()
        _, scans = self._scans_counted(write_scan_cache=False)
        self.assertEqual(scans, 0)
        self.assertEqual(os.listdir(os.path.dirname(self.cache)), [CACHE_NAME])  # no temp left
