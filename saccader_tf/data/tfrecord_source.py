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
the rows of a batch in parallel; only a batch that fails is prepared again record by record, so the
batches, the errors and the log lines are those of reading record by record, at its cost only for
the batches that hold a bad record (`saccader_tf.data.tfrecord_batches`).

Several workers (`MultiWorkerMirroredStrategy`): `train_epoch(e, skip, input_context=context)`
gives one worker's share only. It batches the still-encoded records into the same global batches,
cuts out of each the rows that TensorFlow's data sharding would hand this worker's replicas, and
decodes and augments just those (`tfrecord_batches.worker_batches`), so with `W` workers each image
is decoded once in the cluster instead of `W` times; the trainer asks for it
(`saccader_tf.training.worker_inputs`). Every replica gets the rows, order, seeds and bad-row
replacements it gets from the plain epoch, which asks for data sharding (`AutoShardPolicy.DATA`,
as the other sources do: every worker reads and prepares the whole epoch and keeps its share of
each batch). The difference shows only with a bad record: without `skip_bad_files` only the
workers whose share holds it stop with the error (the others wait for them in their next step
until TensorFlow gives up on the lost worker), and with it only they log it. The evaluation
batches are read whole by every worker, sharded by data.
"""

import numpy as np
import tensorflow as tf
from absl import logging

from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.preprocessing import Recipe
from saccader_tf.data.resumable_epochs import epoch_seed
from saccader_tf.data.source import DataSource, check_channels
from saccader_tf.data.tfrecord_batches import (
    CYCLE_LENGTH,
    PARALLEL,
    Reading,
    fill_bad_rows,
    prepared_batches,
    worker_batches,
)
from saccader_tf.data.tfrecord_scan_cache import cached_scans
from saccader_tf.data.tfrecord_shards import class_names_of, find_shards, sample_is_grayscale
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int

DEFAULT_SHUFFLE_BUFFER = 10_000
"""Encoded records in the training shuffle buffer (about 1 GB of ImageNet JPEGs)."""


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
    evaluation_only=False,
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
        evaluation_only: the source is read for its evaluation split only (`--stage=eval`): the
            training records are not checked against `batch_size`.

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
    _check_batch_size(batch_size, train_scan.total, evaluation_only)
    num_classes = max(train_scan.max_label, eval_scan.max_label) + 1
    channels = _resolve_channels(channels, train_files)
    mean, std = default_normalization(channels)
    reading = Reading(recipe, channels, label_offset, skip_bad_files, image_size, mean, std)
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


def _check_batch_size(batch_size, num_train, evaluation_only):
    if batch_size > num_train and not evaluation_only:
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
        **(PARALLEL if cycle_length > 1 else {}),
    )


def _train_epochs(reading, files, seed, batch_size, shuffle_buffer):
    """The source's `train_epoch(epoch, skip_batches=0, *, input_context=None)` (module
    docstring): the global batches `(float32 [B, S, S, C], int32 [B])` of epoch `epoch` after its
    first `skip_batches`, or with a `tf.distribute.InputContext` only the per-replica batches of
    that worker's share of each (`worker_batches`)."""
    files = np.array(files, dtype=object)

    def train_epoch(epoch, skip_batches=0, *, input_context=None):
        s = epoch_seed(seed, epoch)
        order = np.random.default_rng(s).permutation(len(files))
        records = _records(files[order], min(CYCLE_LENGTH, len(files)))
        records = records.shuffle(shuffle_buffer, seed=s, reshuffle_each_iteration=False)
        first = skip_batches * batch_size
        positions = tf.data.Dataset.range(first, 2**62)
        seeded = tf.data.Dataset.zip((records.skip(first), positions)).map(
            lambda r, position: (*r, tf.stack([tf.constant(s, tf.int64), position]))
        )
        if input_context is not None:
            shares = worker_batches(seeded, reading, reading.train_input, batch_size, input_context)
            return _sharded(shares.prefetch(tf.data.AUTOTUNE), _NO_SHARDING)
        batches = prepared_batches(seeded, reading, reading.train_input, batch_size, True)
        return _sharded(batches.map(fill_bad_rows).prefetch(tf.data.AUTOTUNE))

    return train_epoch


def _eval_batches(reading, files, batch_size):
    batches = prepared_batches(_records(files, 1), reading, reading.eval_input, batch_size, False)
    if reading.skip_bad_files:  # leave the undecodable records out and batch the rest again
        kept = batches.unbatch().filter(lambda image, label, ok, shard, index: ok)
        batches = kept.batch(batch_size)
    batches = batches.map(lambda images, labels, *_: (images, labels))
    return _sharded(batches.prefetch(tf.data.AUTOTUNE))


_NO_SHARDING = tf.data.experimental.AutoShardPolicy.OFF
"""A worker's share is cut already: nothing for `tf.distribute` to shard."""


def _sharded(dataset, policy=tf.data.experimental.AutoShardPolicy.DATA):
    """`dataset` with the auto-shard policy `tf.distribute` applies to it (default: by data)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)
