"""Addressable training epochs, so that an interrupted run can continue with exactly the batches an
uninterrupted run would have seen.

A source's `train_epoch(epoch, skip_batches)` returns the batches of training epoch `epoch`
(0-based) after its first `skip_batches`. The example order and the augmentation of an epoch are a
pure function of `(seed, epoch)` (`epoch_seed`, `epoch_order`), never of how often a dataset was
iterated before, and skipping happens on indices / encoded records, before any decoding.
`training_batches(source, first_batch, num_batches)` stitches epochs into the endless sequence
epoch 0, epoch 1, ... and cuts batches `[first_batch, first_batch + num_batches)` out of it: batch
`g` of a stage is always the same batch, whether the stage ran in one go or was resumed at step `g`.

A source whose `train_epoch` also takes `input_context=` (a `tf.distribute.InputContext`; the
TFRecord source, `takes_input_context`) can give one worker of a cluster its replicas' share of
those same batches, and `training_batches(..., input_context=context)` stitches the shares alike.
"""

import inspect

import numpy as np
from absl import logging

from saccader_tf.utils.errors import BadValueError


def epoch_seed(seed, epoch):
    """A 31-bit integer seed for training epoch `epoch` of a run seeded with `seed`.

    Args:
        seed: the run's non-negative integer seed.
        epoch: non-negative epoch index.

    Returns:
        A Python `int` in `[0, 2**31)`; different epochs get unrelated seeds.
    """
    state = np.random.SeedSequence([int(seed), int(epoch), 0x5ACC]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def epoch_order(num_examples, batch_size, seed, epoch, skip_batches=0):
    """Example indices of training epoch `epoch`: a seeded permutation cut to full batches.

    Args:
        num_examples: number of training examples `N`.
        batch_size: examples per batch `B` (the last partial batch is dropped).
        seed: the run's seed.
        epoch: epoch index.
        skip_batches: leading batches of the epoch to leave out (`0 <= skip_batches <= N // B`).

    Returns:
        int64 numpy array `[(N // B - skip_batches) * B]`.
    """
    per_epoch = num_examples // batch_size
    if not 0 <= skip_batches <= per_epoch:
        raise BadValueError(
            f"`skip_batches` must lie in [0, {per_epoch}] (batches per epoch). "
            f"Received: skip_batches={skip_batches}"
        )
    order = np.random.default_rng(epoch_seed(seed, epoch)).permutation(num_examples)
    return order[skip_batches * batch_size : per_epoch * batch_size].astype(np.int64)


def batches_per_epoch(source):
    """Number of batches in one training epoch of `source`, or `None` when unknown.

    `train_size // batch_size` when the source states both (every built-in source does: the file
    count of a folder, the split size of a TFDS dataset), else the cardinality of
    `source.train_epoch(0)` (a hand-made source).
    """
    if states_epoch_length(source):
        return source.train_size // source.batch_size
    count = int(source.train_epoch(0).cardinality())
    return count if count > 0 else None


def states_epoch_length(source):
    """Whether `source` states its epoch length (`train_size` and `batch_size`): its epochs are
    addressable, so `training_batches` can cut any slice of them exactly."""
    return bool(getattr(source, "train_size", None) and getattr(source, "batch_size", None))


def takes_input_context(source):
    """Whether `source.train_epoch` accepts `input_context=` (one worker's share of each batch)."""
    try:
        parameters = inspect.signature(source.train_epoch).parameters
    except (TypeError, ValueError):  # not introspectable: a plain call only
        return False
    return "input_context" in parameters


def training_batches(source, first_batch, num_batches, input_context=None):
    """Batches `[first_batch, first_batch + num_batches)` of the endless sequence of training
    epochs.

    Exact and cheap to skip when the source states its epoch length (`train_size` and
    `batch_size`: every built-in source with a known training-set size): each piece is
    `source.train_epoch(epoch, skip)`. Otherwise (a hand-made source, or a TFDS split of unknown
    size) it falls back to `source.train_epoch(0).repeat()` with `skip(first_batch)`, with a
    warning: the right count of batches, but which batches they are is only reproducible if that
    dataset itself is, so a resumed run may not see the batches an uninterrupted one would.

    Args:
        source: a `DataSource` (or any object with a `train_epoch` function).
        first_batch: global index of the first batch (e.g. the optimizer's step count).
        num_batches: number of batches to return.
        input_context: `None`, or a worker's `tf.distribute.InputContext` for a source that
            `takes_input_context` with addressable epochs: then each global batch is that
            worker's per-replica batches, one for each of its local replicas (`R =
            num_replicas_in_sync / num_input_pipelines`).

    Returns:
        A `tf.data.Dataset` of `num_batches` training batches (with `input_context`,
        `num_batches · R` per-replica batches).
    """
    if first_batch < 0 or num_batches < 1:
        raise BadValueError(
            "`first_batch` must be >= 0 and `num_batches` >= 1. "
            f"Received: first_batch={first_batch}, num_batches={num_batches}"
        )
    if input_context is not None and not states_epoch_length(source):
        raise BadValueError(
            "A worker's share of the training batches needs a source with addressable epochs "
            f"(train_size and batch_size). Received: source={getattr(source, 'name', None)!r}"
        )
    if not states_epoch_length(source):
        logging.warning(
            "Data source %r has no addressable epochs (no train_size and batch_size), so training "
            "reads train_epoch(0).repeat()%s: a resumed run sees the same number of batches, but "
            "the same batches only if train_epoch(0) always yields the same order.",
            getattr(source, "name", None),
            f".skip({first_batch})" if first_batch else "",
        )
        return source.train_epoch(0).repeat().skip(first_batch).take(num_batches)
    per_epoch = batches_per_epoch(source)
    epoch, skip = divmod(first_batch, per_epoch)
    share, per_batch = {}, 1
    if input_context is not None:
        share = dict(input_context=input_context)
        per_batch = input_context.num_replicas_in_sync // input_context.num_input_pipelines
    pieces, remaining = [], num_batches
    while remaining > 0:
        take = min(per_epoch - skip, remaining)
        pieces.append(source.train_epoch(epoch, skip, **share).take(take * per_batch))
        remaining -= take
        epoch, skip = epoch + 1, 0
    stream = pieces[0]
    for piece in pieces[1:]:
        stream = stream.concatenate(piece)
    return stream
