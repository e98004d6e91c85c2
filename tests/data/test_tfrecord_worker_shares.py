"""One worker's share of the TFRecord source's training batches
(`train_epoch(e, skip, input_context=...)`) against what TensorFlow's data sharding hands that
worker today, in one process.

`tf_worker_stream` runs `tf.distribute`'s own code for one worker of a cluster
(`input_lib.DistributedDataset._create_cloned_datasets_from_dataset`: the rebatching into
per-replica batches and the `AutoShardPolicy.DATA` rewrite); its elements go to the worker's local
replicas in turn, as the worker-share elements do. So the two streams must be equal element by
element, for 2 workers with 1 or 2 replicas each and 4 workers on whole epochs (2 workers with 2
replicas each on resumed epochs and across an epoch boundary), clean shards and shards with bad
records (`skip_bad_files`). A counter in the recipe's training half then
shows that a worker prepares only its share: `G / W` records of each global batch of `G`.
"""

import dataclasses
import os
import tempfile
import types
from unittest import mock

import numpy as np
import tensorflow as tf
from tensorflow.python.distribute import input_lib

from saccader_tf.data.resumable_epochs import training_batches
from saccader_tf.data.source import fixed_epochs
from saccader_tf.data.tfrecord_batches import Reading, share_pieces
from saccader_tf.training.worker_inputs import shares_inputs, stage_batches
from saccader_tf.utils.errors import BadValueError
from tests.data.test_tfrecord_bad_batches import (
    BAD_TRAIN,
    TRAIN,
    VAL,
    bad_source,
    write_bad_shards,
)
from tests.support.tfrecord_fixture import write_mixed_folder, write_shards

BATCH = 4
LAYOUTS = ((2, 2), (2, 4), (4, 4))
"""`(workers, replicas in sync)`: 1 replica per worker, 2 per worker, 4 workers."""
RESUMED_LAYOUTS = ((2, 4),)
"""The layout of the resumed and cross-epoch cases: the skip and the epoch are applied before
the worker's share is taken, so one layout with several local replicas checks them (each layout
is checked on whole epochs)."""


def tf_worker_stream(dataset, workers, worker, replicas):
    """What `experimental_distribute_dataset` gives worker `worker` of `workers` with `replicas`
    replicas in sync: TensorFlow's own rebatching and auto-sharding of `dataset` (its elements go
    to the worker's `replicas / workers` local replicas in turn)."""
    context = tf.distribute.InputContext(workers, worker, replicas)
    local = ("/cpu:0",) * (replicas // workers)  # only their number matters for the input
    input_workers = input_lib.InputWorkers([("/cpu:0", local)])
    holder = input_lib.DistributedDataset.__new__(input_lib.DistributedDataset)
    holder._create_cloned_datasets_from_dataset(dataset, context, input_workers, None, replicas)
    return holder._cloned_datasets[0]


class _StandInMultiWorker(tf.distribute.MultiWorkerMirroredStrategy):
    """Passes `is_multi_worker` with `workers` workers and `replicas` replicas (no cluster)."""

    def __init__(self, workers, replicas):
        self._extended = types.SimpleNamespace(_num_workers=workers, _num_replicas_in_sync=replicas)


def elements(dataset):
    return [tuple(np.asarray(x) for x in element) for element in dataset.as_numpy_iterator()]


def counting_decodes():
    """`(positions, patch)`: while `patch` is active, every training record the source prepares
    appends its position in the epoch to `positions` (when the pipeline runs)."""
    positions = []
    original = Reading.train_input

    def train_input(self, record, seed):
        def note(position):
            positions.append(int(position))
            return np.int64(0)

        noted = tf.py_function(note, [seed[1]], tf.int64)
        with tf.control_dependencies([noted]):
            return original(self, tf.identity(record), seed)

    return positions, mock.patch.object(Reading, "train_input", train_input)


class WorkerSharesTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        root = tempfile.mkdtemp(prefix="worker_shares_", dir=os.environ.get("TEST_TMPDIR"))
        cls.shards = write_bad_shards(os.path.join(root, "bad"))  # 21 records, 3 undecodable
        clean = os.path.join(root, "clean")  # the same without the undecodable ones
        write_mixed_folder(os.path.join(clean, "images"), train=TRAIN + BAD_TRAIN, val=VAL)
        cls.clean = write_shards(os.path.join(clean, "images"), os.path.join(clean, "shards"))

    def assertSameElements(self, expected, actual, msg):
        self.assertEqual(len(expected), len(actual), msg)
        for i, (want, got) in enumerate(zip(expected, actual)):
            self.assertEqual(want[0].shape, got[0].shape, f"{msg}, element {i}")
            self.assertAllEqual(want[1], got[1], msg=f"{msg}, element {i}")
            self.assertAllClose(want[0], got[0], atol=1e-6, rtol=0, msg=f"{msg}, element {i}")

    def assertSharesLikeDataSharding(self, source, epoch, skip, layouts=LAYOUTS):
        plain = source.train_epoch(epoch, skip)  # cloned and rewritten for each worker below
        for workers, replicas in layouts:
            for worker in range(workers):
                msg = f"epoch {epoch} skip {skip}, worker {worker}/{workers}, {replicas} replicas"
                expected = elements(tf_worker_stream(plain, workers, worker, replicas))
                context = tf.distribute.InputContext(workers, worker, replicas)
                shared = source.train_epoch(epoch, skip, input_context=context)
                self.assertNotEmpty(expected, msg)
                self.assertSameElements(expected, elements(shared), msg)

    def test_clean_shards(self):
        source = bad_source(self.clean, batch_size=BATCH, augment="imagenet")
        self.assertSharesLikeDataSharding(source, 0, 0)  # a whole epoch, every layout
        self.assertSharesLikeDataSharding(source, 1, 2, RESUMED_LAYOUTS)  # a resumed one

    def test_bad_records_take_the_replacements_of_the_whole_batch(self):
        source = bad_source(self.shards, batch_size=BATCH, skip_bad_files=True, augment="imagenet")
        self.assertSharesLikeDataSharding(source, 0, 0)
        self.assertSharesLikeDataSharding(source, 3, 1, RESUMED_LAYOUTS)

    def test_a_worker_prepares_only_its_share(self):
        source = bad_source(self.clean, batch_size=BATCH, augment="imagenet")
        per_epoch = source.train_size // BATCH
        for skip in (0, 2):
            everything = list(range(skip * BATCH, per_epoch * BATCH))
            positions, patch = counting_decodes()
            with patch:
                plain = source.train_epoch(1, skip)
            elements(plain)
            self.assertCountEqual(positions, everything)  # today: every worker, every record
            for workers, replicas in LAYOUTS:
                decoded = []
                for worker in range(workers):
                    positions, patch = counting_decodes()
                    context = tf.distribute.InputContext(workers, worker, replicas)
                    with patch:
                        shared = source.train_epoch(1, skip, input_context=context)
                    elements(shared)
                    self.assertLen(positions, len(everything) // workers)
                    decoded += positions
                self.assertCountEqual(decoded, everything)  # each record once in the cluster

    def test_share_pieces(self):
        # Worker w's local replica r takes piece w + r * W of the N pieces of a global batch.
        self.assertEqual(share_pieces(8, tf.distribute.InputContext(2, 1, 2)), ([1], 2))
        self.assertEqual(share_pieces(8, tf.distribute.InputContext(2, 0, 4)), ([0, 2], 4))
        self.assertEqual(share_pieces(8, tf.distribute.InputContext(2, 1, 4)), ([1, 3], 4))
        with self.assertRaisesRegex(BadValueError, "multiple of the replicas"):
            share_pieces(6, tf.distribute.InputContext(2, 0, 4))

    def test_static_per_replica_batch_size(self):
        context = tf.distribute.InputContext(2, 1, 4)
        for skip_bad_files, shards in ((False, self.clean), (True, self.shards)):
            source = bad_source(shards, batch_size=BATCH, skip_bad_files=skip_bad_files)
            spec = source.train_epoch(0, input_context=context).element_spec
            self.assertEqual((spec[0].shape, spec[1].shape), ((1, 28, 28, 3), (1,)))

    def test_training_batches_across_an_epoch_boundary(self):
        # 5 batches an epoch: batches 3-9 are the end of epoch 0, all of epoch 1.
        source = bad_source(self.clean, batch_size=BATCH, augment="imagenet")
        plain = training_batches(source, 3, 7)
        for workers, replicas in RESUMED_LAYOUTS:
            for worker in range(workers):
                expected = elements(tf_worker_stream(plain, workers, worker, replicas))
                context = tf.distribute.InputContext(workers, worker, replicas)
                shared = training_batches(source, 3, 7, input_context=context)
                self.assertLen(expected, 7 * replicas // workers)
                self.assertSameElements(expected, elements(shared), f"worker {worker}/{workers}")


class StageBatchesTest(tf.test.TestCase):
    """Which sources and strategies `train_stage` gives worker shares (`stage_batches`)."""

    def test_only_tfrecord_shares_under_several_workers(self):
        root = tempfile.mkdtemp(prefix="stage_batches_", dir=os.environ.get("TEST_TMPDIR"))
        write_mixed_folder(os.path.join(root, "images"), train=8, val=3)
        shards = write_shards(os.path.join(root, "images"), os.path.join(root, "shards"))
        source = bad_source(shards, batch_size=BATCH)
        self.assertTrue(shares_inputs(_StandInMultiWorker(2, 2), source))
        self.assertTrue(shares_inputs(_StandInMultiWorker(2, 4), source))
        self.assertFalse(shares_inputs(_StandInMultiWorker(2, 8), source))  # 4 rows, 8 replicas
        self.assertFalse(shares_inputs(_StandInMultiWorker(1, 2), source))  # one worker
        self.assertFalse(shares_inputs(tf.distribute.get_strategy(), source))
        plain = dataclasses.replace(source, train_epoch=fixed_epochs(source.train_epoch(0)))
        self.assertFalse(shares_inputs(_StandInMultiWorker(2, 2), plain))  # e.g. --data_service
        batches = stage_batches(tf.distribute.get_strategy(), source, 1, 2)
        self.assertIsInstance(batches, tf.data.Dataset)
        self.assertLen(elements(batches), 2)
