"""ImageNet-style TFRecord shards (`train-*`, `validation-*` of `tf.train.Example`s with
`image/encoded`, `image/class/label`, optional `image/class/text`) as a `DataSource`.

Training epoch `e` reads the training shards in an order drawn from `s_e = epoch_seed(seed, e)`,
interleaved record by record (`deterministic=True`), shuffles the still-encoded records with a
buffer seeded by `s_e` (the same order on every iteration), skips the leading records of a resumed
epoch before decoding, and prepares image `i` of the epoch with the stateless seed `(s_e, i)`
(`Recipe.train_encoded`: under the Inception-crop recipes a JPEG is decoded only inside its crop
window). So order and augmentation are a pure function of `(seed, e)` and `train_epoch(e, skip)`
resumes exactly. Evaluation reads the shards in name order, record by record, with the recipe's
evaluation half.

Records whose image cannot be decoded: without `skip_bad_files` the pipeline stops with an error
naming the shard and the record; with it, a training record's place in its batch is taken by the
next readable image of the same batch (so every epoch keeps its `floor(records / batch_size)`
batches and stays addressable), an evaluation record is left out, and each skipped record is
logged once with a running count. A damaged shard (not a TFRecord, a bad checksum) or a record
without a label is always an error (found by `scan_shards` when the source is made, unless the
scan is read from `scan_cache`: `tfrecord_scan_cache`). Records are prepared a batch at a time,
the rows of a batch in parallel; only a batch that fails is prepared again record by record, each
record in a small pipeline of its own that turns its failure into an `ok=False` row, so the
batches, the errors and the log lines are those of reading record by record, at its cost only for
the batches that hold a bad record.

Several workers (`MultiWorkerMirroredStrategy`): the datasets ask for data sharding
(`AutoShardPolicy.DATA`), as for the other sources: each worker reads the same epoch and keeps its
share of each batch, so batches do not depend on the number of workers.
"""

import os

import numpy as np
import tensorflow as tf
from absl import logging

from saccader_tf.data.encoded_images import decode_encoded
from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.preprocessing import Recipe
from saccader_tf.data.resumable_epochs import epoch_seed
from saccader_tf.data.source import DataSource, check_channels
from saccader_tf.data.tfrecord_features import ENCODED, LABEL, READ_FEATURES
from saccader_tf.data.tfrecord_scan_cache import cached_scans
from saccader_tf.data.tfrecord_shards import class_names_of, find_shards, sample_is_grayscale
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int

DEFAULT_SHUFFLE_BUFFER = 10_000
"""Encoded records in the training shuffle buffer (about 1 GB of ImageNet JPEGs)."""
CYCLE_LENGTH = 16
"""Training shards read at the same time (record by record)."""
ROW_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
"""Rows of a batch prepared at the same time (one per core this process may run on)."""
BAD_RECORD = "Cannot decode the image of record"
"""How the error for an undecodable record begins (the launcher shows that line)."""
_PARALLEL = dict(num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
_skipped_records = set()  # (shard, record) skipped in this process, for the running count


def tfrecord_source(
    location,
    *,
    image_size,
    batch_size,
    seed=0,
    augment="light",
    flip=None,
    channels="auto",
    label_offset=0,
    skip_bad_files=False,
    shuffle_buffer=DEFAULT_SHUFFLE_BUFFER,
    scan_cache=None,
    write_scan_cache=True,
    name=None,
):
    """TFRecord shards, preprocessed with the preprocessing recipe `augment` (module docstring).

    Args:
        location: a folder holding `train-*` and `validation-*` shards, or a glob of them
            (`find_shards`; any `tf.io.gfile` path).
        image_size: output side `S`.
        batch_size: examples per batch; at most the number of training records.
        seed: integer seed of the shard order, the shuffling and the augmentation.
        augment: the preprocessing recipe (`"light"`, `"imagenet"`, `"imagenet_tf1"`, `"none"`).
        flip: random horizontal flips in training; `None` = the recipe's default.
        channels: `"auto"` (1 when the sampled first records are all grayscale, else 3), 1 or 3.
        label_offset: the stored label of the first class, subtracted from every label (1 for the
            1-based labels of the classic ImageNet conversion).
        skip_bad_files: skip records whose image cannot be decoded instead of stopping.
        shuffle_buffer: encoded records in the training shuffle buffer.
        scan_cache: a file keeping the shard scan between runs (`cached_scans`), or `None`.
        write_scan_cache: whether to write `scan_cache` after a scan (`False` on the workers
            other than the chief).
        name: `DataSource.name`; `None` = `"tfrecord:<location>"`.

    Returns:
        A `DataSource` yielding `(float32 [B, S, S, C], int32 [B])` with `num_classes` = the
        largest label after the offset + 1 (both splits), `class_names` from `image/class/text`
        when the records have it (else `None`), `train_epoch` and `settings` set.

    Example:
        >>> source = tfrecord_source("/data/imagenet", image_size=224, batch_size=256,
        ...                          augment="imagenet", label_offset=1)
    """
    recipe = _checked_args(image_size, batch_size, shuffle_buffer, augment, flip, channels)
    _check_label_offset(label_offset)
    train_files, eval_files = find_shards(location)
    scans = cached_scans(
        {"train": train_files, "eval": eval_files}, label_offset, scan_cache, write_scan_cache
    )
    train_scan, eval_scan = scans["train"], scans["eval"]
    _check_batch_size(batch_size, train_scan.total)
    num_classes = max(train_scan.max_label, eval_scan.max_label) + 1
    channels = _resolve_channels(channels, train_files)
    mean, std = default_normalization(channels)
    reading = _Reading(recipe, channels, label_offset, skip_bad_files, image_size, mean, std)
    name = name or f"tfrecord:{location}"
    settings = dict(
        dataset=name,
        image_size=image_size,
        batch_size=batch_size,
        seed=seed,
        channels=channels,
        label_offset=label_offset,
        train_records=train_scan.total,
        eval_records=eval_scan.total,
        train_shards=len(train_files),
        shuffle_buffer=shuffle_buffer,
        skip_bad_files=skip_bad_files,
        **recipe.settings(),
    )
    return DataSource(
        train_epoch=_train_epochs(reading, train_files, seed, batch_size, shuffle_buffer),
        eval=_eval_batches(reading, eval_files, batch_size),
        num_classes=num_classes,
        image_size=image_size,
        channels=channels,
        mean=mean,
        std=std,
        name=name,
        train_size=train_scan.total,
        eval_size=eval_scan.total,
        class_names=class_names_of({**eval_scan.names, **train_scan.names}, num_classes),
        crop_fraction=recipe.eval_crop_fraction(image_size),
        batch_size=batch_size,
        settings=settings,
    )


def _checked_args(image_size, batch_size, shuffle_buffer, augment, flip, channels):
    """Checks the plain arguments; returns the preprocessing `Recipe`."""
    for field, value in (("image_size", image_size), ("batch_size", batch_size)):
        check_int(field, value)
    check_int("shuffle_buffer", shuffle_buffer)
    check_channels(channels)
    return Recipe(augment, flip)


def _check_batch_size(batch_size, num_train):
    if batch_size > num_train:
        raise BadValueError(
            f"`batch_size` is larger than the number of training records ({num_train}), so the "
            "training pipeline (which drops the last partial batch) would be empty. "
            f"Received: batch_size={batch_size}"
        )


def _check_label_offset(label_offset):
    if isinstance(label_offset, bool) or not isinstance(label_offset, int) or label_offset < 0:
        raise BadValueError(
            f"`label_offset` must be an int >= 0. Received: label_offset={label_offset!r}"
        )


def _resolve_channels(channels, train_files):
    if channels != "auto":
        return channels
    gray, sampled = sample_is_grayscale(train_files)
    auto = 1 if sampled and gray == sampled else 3
    logging.info(
        "channels=auto: %d of %d sampled training records are grayscale, so %d channel(s).",
        gray,
        sampled,
        auto,
    )
    return auto


class _Reading:
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
        encoded, label = self.parse(record)
        size = dict(image_size=self.image_size, mean=self.mean, std=self.std)
        return self.recipe.train_encoded(encoded, seed, channels=self.channels, **size), label

    def eval_input(self, record):
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

    def tolerant_batch(self, prepare):
        """`(shards [B], indices [B], records [B], *args [B, ...]) -> dataset of one batch
        (images [B, S, S, C], labels [B], ok [B], shards [B], indices [B])` (`B` static when it
        is in the input).

        The whole batch is prepared at once (`_whole_batch`); only when that fails are its records
        prepared one by one (`tolerant`, `checked`), so a batch of readable records costs no
        per-record pipeline and a batch holding a bad record gives what record-by-record reading
        would: the same rows, `ok=False` for the bad ones, the same error or log line."""
        one = self.tolerant(prepare)

        def batch(*rows):
            static = rows[1].shape[0]
            size = static or tf.size(rows[1], tf.int64)
            whole = tf.data.Dataset.from_tensors(rows).map(lambda *r: _whole_batch(prepare, *r))
            each = (
                tf.data.Dataset.from_tensor_slices(rows)
                .interleave(one, cycle_length=CYCLE_LENGTH, block_length=1, **_PARALLEL)
                .map(self.checked)
                .batch(size, drop_remainder=static is not None)
            )
            return whole.ignore_errors().concatenate(each).take(1)

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


def _whole_batch(prepare, shards, indices, records, *args):
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


def _records(files, cycle_length):
    """`(shard, index in shard, serialised record)` of `files`, interleaved record by record."""
    return tf.data.Dataset.from_tensor_slices(list(files)).interleave(
        lambda shard: (
            tf.data.TFRecordDataset(shard)
            .enumerate()
            .map(lambda index, record: (shard, index, record))
        ),
        cycle_length=cycle_length,
        block_length=1,
        **(_PARALLEL if cycle_length > 1 else {}),
    )


def _prepared_batches(records, reading, prepare, batch_size, drop_remainder):
    """Batches `(images [B, S, S, C], labels [B], ok [B], shards [B], indices [B])` of `records`
    (`(shard, index, record, *args)` elements, prepared by `prepare(record, *args)`), in order,
    one batch at a time, its rows in parallel (`_Reading.tolerant_batch`)."""
    return records.batch(batch_size, drop_remainder=drop_remainder).flat_map(
        reading.tolerant_batch(prepare)
    )


def _train_epochs(reading, files, seed, batch_size, shuffle_buffer):
    files = np.array(files, dtype=object)

    def train_epoch(epoch, skip_batches=0):
        s = epoch_seed(seed, epoch)
        order = np.random.default_rng(s).permutation(len(files))
        records = _records(files[order], min(CYCLE_LENGTH, len(files)))
        records = records.shuffle(shuffle_buffer, seed=s, reshuffle_each_iteration=False)
        first = skip_batches * batch_size
        positions = tf.data.Dataset.range(first, 2**62)
        seeded = tf.data.Dataset.zip((records.skip(first), positions)).map(
            lambda r, position: (*r, tf.stack([tf.constant(s, tf.int64), position]))
        )
        batches = _prepared_batches(seeded, reading, reading.train_input, batch_size, True)
        return _sharded(batches.map(_fill_bad_rows).prefetch(tf.data.AUTOTUNE))

    return train_epoch


def _fill_bad_rows(images, labels, ok, shard, index):
    """Rows of undecodable records take the next readable row of the batch (cyclically); a batch
    without one is returned as it is (no copy)."""
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


def _eval_batches(reading, files, batch_size):
    batches = _prepared_batches(_records(files, 1), reading, reading.eval_input, batch_size, False)
    if reading.skip_bad_files:  # leave the undecodable records out and batch the rest again
        kept = batches.unbatch().filter(lambda image, label, ok, shard, index: ok)
        batches = kept.batch(batch_size)
    batches = batches.map(lambda images, labels, *_: (images, labels))
    return _sharded(batches.prefetch(tf.data.AUTOTUNE))


def _sharded(dataset):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
