"""A few evaluation batches spread over the whole evaluation split.

Image folders and the shards written from them list their evaluation images class by class, so
the first N batches of such a split hold only its first classes: an accuracy on them says little
about the rest. `spread_batches(dataset, n)` takes every k-th batch instead (k = the split's batches
// n, from the dataset's cardinality), so every part of the split is scored. The batches left out
are still read (and preprocessed) by tf.data, but not run through the model.
"""


def spread_batches(dataset, num_batches):
    """`num_batches` batches of the finite `dataset`, evenly spaced from its first one.

    Args:
        dataset: a batched `tf.data.Dataset` (e.g. a source's `eval`).
        num_batches: how many batches to keep (>= 1).

    Returns:
        batches 0, k, 2k, ... (`num_batches` of them; k = len(dataset) // num_batches), or the
        first `num_batches` when the dataset's length is unknown or not larger than that.
    """
    total = int(dataset.cardinality())
    stride = total // num_batches if total > 0 else 1
    if stride <= 1:
        return dataset.take(num_batches)
    return dataset.shard(stride, 0).take(num_batches)
