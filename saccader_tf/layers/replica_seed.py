"""Per-replica random seeds for sampling layers under `tf.distribute`.

A Keras `SeedGenerator` lives in a variable that is mirrored across replicas, so every replica of a
`MirroredStrategy` (and every worker of a `MultiWorkerMirroredStrategy`) would draw the same random
numbers. `replica_seed` takes the generator's next stateless seed and folds in the global replica
id, so replicas draw independent samples while a fixed seed still reproduces a run.
"""

import tensorflow as tf


def replica_id():
    """Global id of the current replica (0 outside a strategy or in cross-replica context).

    Returns:
        A scalar `int32` tensor.
    """
    context = tf.distribute.get_replica_context()
    if context is None:
        return tf.constant(0, tf.int32)
    return tf.cast(context.replica_id_in_sync_group, tf.int32)


def replica_seed(seed_generator):
    """Next stateless seed of `seed_generator` with the replica id folded in.

    Args:
        seed_generator: a `keras.random.SeedGenerator`.

    Returns:
        An `int32` tensor of shape `[2]`, usable as the `seed` of `tf.random.stateless_*` ops and of
        `tfp.distributions.*.sample` (`keras.random.*` ops do not take tensor seeds).
    """
    seed = tf.cast(seed_generator.next(), tf.int32)
    return tf.random.experimental.stateless_fold_in(seed, replica_id())
