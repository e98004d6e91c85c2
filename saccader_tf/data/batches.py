"""A preprocessing recipe as tf.data pipelines: decoded `(image, label)` examples in, batches out.

Shuffling happens before these functions (on indices, file names or encoded bytes, where it is
cheap); they add the per-image preprocessing (`Recipe.train` / `Recipe.eval`), batching and
prefetching.
"""

import tensorflow as tf

from saccader_tf.data.resumable_epochs import epoch_seed


def train_batches(
    examples, recipe, *, image_size, batch_size, seed, epoch, mean, std, first_index=0
):
    """Applies the preprocessing recipe's training half, batches (dropping the last partial
    batch), prefetches.

    Image `i` of the epoch gets the stateless seed `(epoch_seed(seed, epoch), first_index + i)`: a
    pure function of its position in the epoch, so an epoch whose first `first_index` examples were
    skipped (a resumed run) augments the rest exactly as an uninterrupted run does.

    Args:
        examples: `tf.data.Dataset` of `(image uint8 [H, W, C], label int)`, in the epoch's order.
        recipe: the preprocessing recipe, a `saccader_tf.data.preprocessing.Recipe`.
        image_size: output side `S`.
        batch_size: examples per batch.
        seed: the run's integer seed.
        epoch: index of the epoch these examples are.
        mean, std: per-channel normalisation (`[0, 1]` units).
        first_index: position in the epoch of the first example of `examples`.

    Returns:
        `tf.data.Dataset` of `(float32 [B, S, S, C], int32 [B])`.
    """
    base = tf.constant(epoch_seed(seed, epoch), tf.int64)
    seeds = tf.data.Dataset.range(first_index, 2**62).map(lambda i: tf.stack([base, i]))

    def augment(example, image_seed):
        image, label = example
        image = recipe.train(image, image_seed, image_size=image_size, mean=mean, std=std)
        return image, tf.cast(label, tf.int32)

    return (
        tf.data.Dataset.zip((examples, seeds))
        .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def eval_batches(examples, recipe, *, image_size, batch_size, mean, std):
    """Applies the preprocessing recipe's evaluation half (`preprocess_for_eval`), batches
    (keeping every example), prefetches.

    Returns:
        `tf.data.Dataset` of `(float32 [B, S, S, C], int32 [B])`, in input order.
    """

    def prepare(image, label):
        image = recipe.eval(image, image_size=image_size, mean=mean, std=std)
        return image, tf.cast(label, tf.int32)

    return (
        examples.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
