"""How batches of serialised TFRecord records become batches of model inputs
(`saccader_tf.data.tfrecord_source`).

A batch is prepared whole, its rows in parallel (`whole_batch`); only a batch that fails is
prepared again record by record, each record in a small pipeline of its own that turns its failure
into an `ok=False` row (`Reading.tolerant`), so the batches, the errors and the log lines are those
of reading record by record, at its cost only for the batches that hold a bad record. A row whose
record cannot be decoded takes the next readable row of its batch (`fill_bad_rows`).

Under several workers (`worker_batches`, given a `tf.distribute.InputContext`) each worker cuts
the rows its replicas train on out of every global batch of still-encoded records and prepares
only those: the rows TensorFlow's data sharding (`AutoShardPolicy.DATA`) would hand them, in the
same order, with the same seeds. When such a share holds an undecodable record, the worker prepares
its whole global batch record by record instead and cuts its share out of that, so a bad row takes
the same replacement (possibly from another worker's rows) as when every worker read everything.
"""

import os

import tensorflow as tf
from absl import logging

from saccader_tf.data.encoded_images import decode_encoded
from saccader_tf.data.tfrecord_features import ENCODED, LABEL, READ_FEATURES
from saccader_tf.utils.errors import BadValueError

CYCLE_LENGTH = 16
"""Training shards read at the same time (record by record), and records of a failing batch
prepared at the same time."""
ROW_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
"""Rows of a batch prepared at the same time (one per core this process may run on)."""
BAD_RECORD = "Cannot decode the image of record"
"""How the error for an undecodable record begins (the launcher shows that line)."""
PARALLEL = dict(num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
"""Parallel, in-order `map` / `interleave` arguments."""
_skipped_records = set()  # (shard, record) skipped in this process, for the running count


class Reading:
    """How one record becomes an input: the recipe, channels, label offset, bad-record policy."""

    def __init__(self, recipe, channels, label_offset, skip_bad_files, image_size, mean, std):
        self.recipe, self.channels, self.label_offset = recipe, channels, label_offset
        self.skip_bad_files = skip_bad_files
        self.image_size, self.mean, self.std = image_size, mean, std

    def parse(self, record):
        """`(encoded bytes, label after the offset as int32)` of a serialised record."""
        features = tf.io.parse_single_example(
            record, {k: READ_FEATURES[k] for k in (ENCODED, LABEL)}
        )
        return features[ENCODED], tf.cast(features[LABEL] - self.label_offset, tf.int32)

    def train_input(self, record, seed):
        """`(float32 [S, S, C], int32 [])` of a training record, augmented with `seed` `[2]`."""
        encoded, label = self.parse(record)
        size = dict(image_size=self.image_size, mean=self.mean, std=self.std)
        return self.recipe.train_encoded(encoded, seed, channels=self.channels, **size), label

    def eval_input(self, record):
        """`(float32 [S, S, C], int32 [])` of an evaluation record."""
        encoded, label = self.parse(record)
        image = decode_encoded(encoded, self.channels)
        size = dict(image_size=self.image_size, mean=self.mean, std=self.std)
        return self.recipe.eval(image, **size), label

    def tolerant(self, prepare):
        """`(shard, index, record, *args) -> dataset of one (image, label, ok, shard, index)`:
        `prepare(record, *args)`, or a zero image with `ok=False` when it fails."""
        size = [self.image_size, self.image_size, self.channels]

        def one(shard, index, record, *args):
            good = (
                tf.data.Dataset.from_tensors((record, *args))
                .map(lambda *a: (*prepare(*a), True))
                .ignore_errors()
            )
            bad = tf.data.Dataset.from_tensors((tf.zeros(size), tf.constant(-1), False))
            return good.concatenate(bad).take(1).map(lambda i, lab, ok: (i, lab, ok, shard, index))

        return one

    def each_record(self, prepare):
        """`(shards [B], indices [B], records [B], *args [B, ...]) -> dataset of one batch
        (images [B, S, S, C], labels [B], ok [B], shards [B], indices [B])`, its records prepared
        one by one (`tolerant`, `checked`): `ok=False` for the bad ones, and their error or log
        line (`B` static when it is in the input)."""
        one = self.tolerant(prepare)

        def batch(*rows):
            static = rows[1].shape[0]
            return (
                tf.data.Dataset.from_tensor_slices(rows)
                .interleave(one, cycle_length=CYCLE_LENGTH, block_length=1, **PARALLEL)
                .map(self.checked)
                .batch(static or tf.size(rows[1], tf.int64), drop_remainder=static is not None)
            )

        return batch

    def tolerant_batch(self, prepare):
        """`(shards [B], indices [B], records [B], *args [B, ...]) -> dataset of one batch
        (images [B, S, S, C], labels [B], ok [B], shards [B], indices [B])` (`B` static when it
        is in the input).

        The whole batch is prepared at once (`whole_batch`); only when that fails are its records
        prepared one by one (`each_record`), so a batch of readable records costs no per-record
        pipeline and a batch holding a bad record gives what record-by-record reading would: the
        same rows, `ok=False` for the bad ones, the same error or log line."""
        each = self.each_record(prepare)

        def batch(*rows):
            whole = tf.data.Dataset.from_tensors(rows).map(lambda *r: whole_batch(prepare, *r))
            return whole.ignore_errors().concatenate(each(*rows)).take(1)

        return batch

    def checked(self, image, label, ok, shard, index):
        """Stops on an undecodable record (without `skip_bad_files`), else logs it once."""

        def bad():  # only on the error path
            message = tf.py_function(self._report, [shard, index], tf.string)
            ok_to_skip = tf.constant(self.skip_bad_files)
            with tf.control_dependencies([tf.debugging.Assert(ok_to_skip, [message], summarize=1)]):
                return tf.constant(False)

        done = tf.cond(ok, lambda: tf.constant(True), bad)
        with tf.control_dependencies([done]):
            return tf.identity(image), label, ok, shard, index

    def _report(self, shard, index):
        """The error message of an undecodable record; with `skip_bad_files` logs it once."""
        where = f"record {int(index)} of shard {shard.numpy().decode('utf-8', 'replace')}"
        if self.skip_bad_files and where not in _skipped_records:
            _skipped_records.add(where)
            logging.warning(
                "Skipping %s: its image cannot be decoded (%d record(s) skipped in this process).",
                where,
                len(_skipped_records),
            )
        return (
            f"{BAD_RECORD} {where[len('record ') :]}: TensorFlow cannot decode it (corrupt or "
            "not an image). Write the shard again, or pass --skip_bad_files "
            "(skip_bad_files=True)."
        )


def whole_batch(prepare, shards, indices, records, *args):
    """`prepare(record, *args)` of every row of a batch, on up to `ROW_THREADS` threads, in order.

    Args:
        prepare: `(record, *args) -> (float32 image [S, S, C], int32 label)`.
        shards, indices: string and int64 `[B]`, where the records come from.
        records: string `[B]`, serialised records.
        *args: `[B, ...]` tensors, each row's further arguments of `prepare` (its seed).

    Returns:
        `(images [B, S, S, C], labels [B], ok [B] all True, shards, indices)` (`B` static when it
        is in `records`); fails as a whole when any record fails.
    """
    rows = tf.data.Dataset.from_tensor_slices((records, *args)).map(
        prepare, num_parallel_calls=ROW_THREADS, deterministic=True
    )
    static = records.shape[0]
    batch = rows.batch(static or tf.size(records, tf.int64), drop_remainder=static is not None)
    images, labels = batch.get_single_element()
    return images, labels, tf.ones_like(indices, tf.bool), shards, indices


def prepared_batches(records, reading, prepare, batch_size, drop_remainder):
    """Batches `(images [B, S, S, C], labels [B], ok [B], shards [B], indices [B])` of `records`
    (`(shard, index, record, *args)` elements, prepared by `prepare(record, *args)`), in order,
    one batch at a time, its rows in parallel (`Reading.tolerant_batch`)."""
    return records.batch(batch_size, drop_remainder=drop_remainder).flat_map(
        reading.tolerant_batch(prepare)
    )


def fill_bad_rows(images, labels, ok, shard, index):
    """Rows of undecodable records take the next readable row of the batch (cyclically); a batch
    without one is returned as it is (no copy).

    Args:
        images, labels, ok, shard, index: a prepared batch, `[B, S, S, C]`, `[B]`, ... .

    Returns:
        `(images [B, S, S, C], labels [B])`; an error when no row is readable.
    """
    del shard, index
    return tf.cond(
        tf.reduce_all(ok),
        lambda: (tf.identity(images), tf.identity(labels)),
        lambda: _filled(images, labels, ok),
    )


def _filled(images, labels, ok):
    """`(images, labels)` `[B, ...]` with each row whose `ok` is False replaced by the next row
    whose `ok` is True (cyclically); an error when no row is."""
    good = tf.cast(tf.where(ok)[:, 0], tf.int32)
    rows = tf.range(tf.shape(ok)[0], dtype=tf.int32)
    check = tf.debugging.assert_positive(
        tf.size(good),
        message=f"{BAD_RECORD}s of a whole batch: no image of the batch can be decoded.",
    )
    with tf.control_dependencies([check]):
        following = tf.searchsorted(good, rows, side="left") % tf.maximum(tf.size(good), 1)
    source = tf.where(ok, rows, tf.gather(good, following))
    return tf.gather(images, source), tf.gather(labels, source)


def share_pieces(batch_size, input_context):
    """Which rows of each global batch the replicas of one worker train on, as TensorFlow's data
    sharding hands them out.

    `tf.distribute` (`experimental_distribute_dataset` under `AutoShardPolicy.DATA`) cuts every
    global batch of `G` rows into `N = num_replicas_in_sync` pieces of `G / N` consecutive rows
    (its legacy `RebatchDataset`) and gives worker `w` of `W` the pieces `w, w + W, w + 2W, ...`
    (`shard(W, w)` of the stream of pieces), its local replica `r` the piece `w + r·W`.

    Args:
        batch_size: the global batch `G`, a multiple of `N`.
        input_context: this worker's `tf.distribute.InputContext` (`W` = `num_input_pipelines`,
            `w` = `input_pipeline_id`, `N` = `num_replicas_in_sync`).

    Returns:
        `(pieces, N)`: a list of the piece indices of the worker's local replicas, in replica
        order, and the number of pieces; piece `k` is rows `[k·G/N, (k + 1)·G/N)`.
    """
    workers, worker = input_context.num_input_pipelines, input_context.input_pipeline_id
    replicas = input_context.num_replicas_in_sync
    if replicas % workers or batch_size % replicas:
        raise BadValueError(
            "A worker's share of a batch needs the global batch size to be a multiple of the "
            "replicas and the replicas a multiple of the workers. Received: "
            f"batch_size={batch_size}, num_replicas_in_sync={replicas}, workers={workers}"
        )
    return [worker + r * workers for r in range(replicas // workers)], replicas


def worker_batches(records, reading, prepare, batch_size, input_context):
    """The per-replica training batches of one worker: its share (`share_pieces`) of each global
    batch of `records`, prepared alone.

    Args:
        records: `(shard, index, record, seed [2])` elements in the epoch's order.
        reading: the source's `Reading`; `prepare(record, seed)` makes one row.
        batch_size: the global batch `G` (the last partial global batch is dropped).
        input_context: this worker's `tf.distribute.InputContext`.

    Returns:
        A `tf.data.Dataset` of `(images [G/N, S, S, C], labels [G/N])`: per global batch, one
        element per local replica, in replica order (how `distribute_datasets_from_function`
        hands a worker's elements to its replicas).
    """
    pieces, count = share_pieces(batch_size, input_context)
    each = reading.each_record(prepare)

    def piece_of(row, piece):
        return tf.gather(tf.reshape(row, [count, -1, *row.shape[1:]]), piece)

    def share(piece, rows):
        mine = tuple(piece_of(row, piece) for row in rows)
        fast = tf.data.Dataset.from_tensors(mine).map(lambda *r: whole_batch(prepare, *r)[:2])
        exact = (  # a bad record in the share: the whole global batch, record by record
            each(*rows)
            .map(fill_bad_rows)
            .map(lambda images, labels: (piece_of(images, piece), piece_of(labels, piece)))
        )
        return fast.ignore_errors().concatenate(exact).take(1)

    def shares(*rows):
        return tf.data.Dataset.from_tensor_slices(tf.constant(pieces, tf.int64)).map(
            lambda piece: (piece, rows)
        )

    batches = records.batch(batch_size, drop_remainder=True)
    return batches.flat_map(shares).flat_map(share)
