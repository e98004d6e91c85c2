"""A few evaluation batches spread over the whole evaluation split.

Image folders and the shards written from them list their evaluation images class by class, so
the first N batches of such a split hold only its first classes: an accuracy on them says little
about the rest. Every capped evaluation (`--eval_steps`, `--validation_steps`) therefore takes N
batches evenly spaced over the split instead (`spread_indices`, from the dataset's cardinality),
so every part of it is scored. The batches left out before the last kept one are still read (and
preprocessed) by tf.data, but not run through the model.
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


def spread_batches(dataset, num_batches):
    """`num_batches` batches of the finite `dataset`, evenly spaced over it (`spread_indices`).

    Args:
        dataset: a batched `tf.data.Dataset` (e.g. a source's `eval`).
        num_batches: how many batches to keep (>= 1); `None` keeps them all.

    Returns:
        A dataset of those batches, in order, of known length (the first `num_batches` when the
        dataset's length is unknown).
    """
    kept = spread_indices(int(dataset.cardinality()), num_batches)
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
    return chosen.apply(tf.data.experimental.assert_cardinality(len(kept)))
