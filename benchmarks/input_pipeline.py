"""Throughput of a `tf.data` training pipeline on its own (no model attached)."""

import time


def pipeline_images_per_second(dataset, *, batches, warmup=5):
    """Images per second produced by iterating `dataset` (repeated), after `warmup` batches.

    The pipeline runs alone, so this is what it can deliver; during training it shares the CPU
    with the step (its `prefetch` overlaps the two).

    Args:
        dataset: a `tf.data.Dataset` of `(images, labels, ...)` batches (e.g.
            `training_batches(source, ...)`).
        batches: number of timed batches.
        warmup: untimed batches first (fills the shuffle buffer and the prefetch queue).

    Returns:
        float images per second.
    """
    iterator = iter(dataset.repeat())
    for _ in range(warmup):
        next(iterator)
    images = 0
    start = time.perf_counter()
    for _ in range(max(1, batches)):
        batch = next(iterator)
        images += int(batch[0].shape[0])
    return images / (time.perf_counter() - start)
