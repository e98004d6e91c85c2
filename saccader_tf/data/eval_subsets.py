"""A few evaluation batches spread over the whole evaluation split.

Image folders and the shards written from them list their evaluation images class by class, so
the first N batches of such a split hold only its first classes: an accuracy on them says little
about the rest. Every capped evaluation (`--eval_steps`, `--validation_steps`) therefore takes N
batches evenly spaced over the split instead (`spread_indices`, from the dataset's cardinality),
so every part of it is scored. An image folder reads only the images of the kept batches
(`DataSource.eval_at`, used by `spread_eval`); of other sources the batches left out before the
last kept one are still read (and preprocessed) by tf.data, but not run through the model.
"""

import tensorflow as tf


def spread_indices(total, num_batches):
    """The indices of `num_batches` batches evenly spaced over `total`, sorted.

    Batch `i` of the kept ones is `floor((i + 1/2) * total / num_batches)`, the middle of its
    share of the split, so the first and the last parts are both scored.

    Args:
        total: the split's number of batches (a negative number: unknown).
        num_batches: how many to keep (>= 1); `None` keeps them all.

    Returns:
        A list of ints, or `None` when every batch is kept (`num_batches` is `None` or not
        smaller than `total`). With `total` unknown: the first `num_batches`.
    """
    if num_batches is None or 0 <= total <= num_batches:
        return None
    if total < 0:
        return list(range(num_batches))
    return [(2 * i + 1) * total // (2 * num_batches) for i in range(num_batches)]


def spread_batches(dataset, num_batches, total=None):
    """`num_batches` batches of the finite `dataset`, evenly spaced over it (`spread_indices`).

    Args:
        dataset: a batched `tf.data.Dataset` (e.g. a source's `eval`).
        num_batches: how many batches to keep (>= 1); `None` keeps them all.
        total: the dataset's number of batches; `None`: its cardinality.

    Returns:
        A dataset of those batches, in order (the first `num_batches` when the number of batches
        is unknown), of known length when the dataset's is known.
    """
    known = int(dataset.cardinality())
    kept = spread_indices(known if total is None else total, num_batches)
    if kept is None:
        return dataset
    if kept == list(range(len(kept))):
        return dataset.take(len(kept))
    wanted = tf.constant(kept, tf.int64)
    chosen = (
        dataset.take(kept[-1] + 1)
        .enumerate()
        .filter(lambda index, batch: tf.reduce_any(tf.equal(index, wanted)))
        .map(lambda index, batch: batch)
    )
    return _with_length(chosen, len(kept), known)


def spread_eval(source, num_batches):
    """`num_batches` batches of `source`'s evaluation split spread over it (`spread_batches`).

    The split's number of batches is its cardinality, or, when tf.data cannot tell (a streamed
    image folder, TFRecord shards), `ceil(eval_size / batch_size)`. A source with `eval_at` (an
    image folder) reads and prepares only the kept batches' images.

    Args:
        source: a `DataSource`.
        num_batches: how many batches to keep (>= 1); `None` keeps them all.
    """
    known, total = int(source.eval.cardinality()), split_batches(source)
    eval_at = getattr(source, "eval_at", None)
    kept = spread_indices(total, num_batches)
    if kept is None or eval_at is None or kept == list(range(len(kept))):
        return spread_batches(source.eval, num_batches, total)
    return _with_length(eval_at(kept), len(kept), known)


def split_batches(source):
    """The number of batches of `source.eval`: its cardinality, else (a streamed image folder,
    TFRecord shards) `ceil(eval_size / batch_size)`, else -1 (unknown)."""
    total = int(source.eval.cardinality())
    size, batch_size = getattr(source, "eval_size", None), getattr(source, "batch_size", None)
    if total < 0 and size and batch_size:
        total = -(-size // batch_size)
    return total


def capped_batches(source, num_batches):
    """`(n, total)`: `num_batches` at most the split's batches, and those (`split_batches`; -1:
    unknown); `num_batches=None` stays `None`."""
    total = split_batches(source)
    if num_batches is not None and total >= 0:
        num_batches = min(num_batches, total)
    return num_batches, total


def _with_length(dataset, length, known):
    """`dataset` stating `length` batches when the split's length was `known` (>= 0): no
    batch can then have been left out by a filter of bad files."""
    if known < 0:
        return dataset
    return dataset.apply(tf.data.experimental.assert_cardinality(length))
