"""The ImageNet recipe as tf.data pipelines: decoded `(image, label)` examples in, batches out.

Shuffling happens before these functions (on encoded bytes or file names, where it is cheap); they
add the per-image augmentation, batching and prefetching.
"""

import tensorflow as tf

from saccader_tf.data.imagenet_preprocessing import CROP_FRACTION
from saccader_tf.data.imagenet_preprocessing import preprocess_for_eval
from saccader_tf.data.imagenet_preprocessing import preprocess_for_train
from saccader_tf.data.resumable_epochs import epoch_seed


def imagenet_train_pipeline(dataset, *, image_size, batch_size, seed, mean, std, epoch=None,
                            first_index=0):
    """Augments, batches (dropping the last partial batch) and prefetches training examples.

    Each image gets its own stateless seed. With `epoch=None` the seeds come from
    `tf.data.Dataset.random(seed)`, re-drawn every time the dataset is iterated
    (`rerandomize_each_iteration=True`), so crops and flips differ between epochs but a run with the
    same seed reproduces. With an `epoch`, image `i` of the epoch gets the seed
    `(epoch_seed(seed, epoch), first_index + i)`: a pure function of its position, for addressable
    (resumable) epochs whose first `first_index` examples were skipped.

    Args:
        dataset: `tf.data.Dataset` of `(image uint8 [H, W, C], label int)`, already shuffled.
        image_size: output side `S`.
        batch_size: examples per batch.
        seed: integer seed of the augmentation.
        mean: per-channel mean (`[0, 1]` units).
        std: per-channel standard deviation (`[0, 1]` units).
        epoch: `None`, or the index of the epoch this dataset is (see above).
        first_index: position in the epoch of the first example of `dataset`.

    Returns:
        `tf.data.Dataset` of `(float32 [B, S, S, C], int32 [B])`.
    """
    if epoch is None:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    else:
        base = tf.constant(epoch_seed(seed, epoch), tf.int64)
        seeds = tf.data.Dataset.range(first_index, 2**62).map(lambda i: tf.stack([base, i]))

    def augment(example, image_seed):
        image, label = example
        image = preprocess_for_train(image, image_seed, image_size=image_size, mean=mean, std=std)
        return image, tf.cast(label, tf.int32)

    return (
        tf.data.Dataset.zip((dataset, seeds))
        .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def imagenet_eval_pipeline(dataset, *, image_size, batch_size, mean, std,
                           crop_fraction=CROP_FRACTION):
    """Centre-crops, resizes, normalises, batches (keeping every example) and prefetches.

    Args:
        dataset: `tf.data.Dataset` of `(image uint8 [H, W, C], label int)`.
        image_size: output side `S`.
        batch_size: examples per batch.
        mean: per-channel mean (`[0, 1]` units).
        std: per-channel standard deviation (`[0, 1]` units).
        crop_fraction: fraction of the shorter side kept by the centre crop.

    Returns:
        `tf.data.Dataset` of `(float32 [B, S, S, C], int32 [B])`, in input order.
    """

    def prepare(image, label):
        image = preprocess_for_eval(image, image_size=image_size, mean=mean, std=std,
                                    crop_fraction=crop_fraction)
        return image, tf.cast(label, tf.int32)

    return (
        dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
