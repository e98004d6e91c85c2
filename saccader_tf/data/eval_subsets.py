"""A few evaluation batches spread over the whole evaluation split.

Image folders and the shards written from them list their evaluation images class by class, so
the first N batches of such a split hold only its first classes: an accuracy on them says little
about the rest. Every capped evaluation (`--eval_steps`, `--validation_steps`) therefore takes
every k-th batch instead (k = the split's batches // N, from the dataset's cardinality), so every
part of the split is scored. The batches left out are still read (and preprocessed) by tf.data, but
not run through the model.
"""


def spread_stride(dataset, num_batches):
    """k: `num_batches` batches of `dataset` are its batches 0, k, 2k, ... (`num_batches=None`:
    every batch, k = 1).

    k = len(dataset) // num_batches, or 1 (the first `num_batches`) when the dataset's length is
    unknown or not larger than `num_batches`.
    """
    if num_batches is None or not hasattr(dataset, "cardinality"):
        return 1
    total = int(dataset.cardinality())
    return max(total // num_batches, 1) if total > 0 else 1


def spread_batches(dataset, num_batches):
    """`num_batches` batches of the finite `dataset`, evenly spaced from its first one.

    Args:
        dataset: a batched `tf.data.Dataset` (e.g. a source's `eval`).
        num_batches: how many batches to keep (>= 1); `None` keeps them all.

    Returns:
        batches 0, k, 2k, ... (`num_batches` of them; k = `spread_stride(dataset, num_batches)`).
    """
    if num_batches is None:
        return dataset
    stride = spread_stride(dataset, num_batches)
    if stride == 1:
        return dataset.take(num_batches)
    return dataset.shard(stride, 0).take(num_batches)
