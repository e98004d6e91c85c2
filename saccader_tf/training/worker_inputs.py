"""The training input a stage hands Keras's `fit`: each worker of a cluster prepares only its share.

Under `MultiWorkerMirroredStrategy` Keras distributes a plain dataset with
`strategy.experimental_distribute_dataset`: every worker runs the whole pipeline, reading, decoding
and augmenting every example of every global batch, and then keeps its replicas' rows (data
sharding). For a source whose `train_epoch` can build one worker's share itself
(`takes_input_context`: the TFRecord source), `stage_batches` hands `fit` a
`strategy.distribute_datasets_from_function` dataset instead, in which each worker prepares only
the rows its replicas train on. The per-replica batches are the same rows, in the same order, with
the same seeds (`saccader_tf.data.tfrecord_batches.share_pieces`), so a step, a resume and the
weights are those of the plain dataset. Every other source, a global batch that is not a multiple
of the replicas, and every single-worker run keep the plain dataset.
"""

from absl import logging

from saccader_tf.data.resumable_epochs import (
    states_epoch_length,
    takes_input_context,
    training_batches,
)
from saccader_tf.training import multi_worker


def shares_inputs(strategy, source):
    """Whether `stage_batches` gives each worker of `strategy` only its share of `source`'s
    batches: a multi-worker strategy, a source that `takes_input_context` and states its epoch
    length, and a global batch size that is a multiple of `strategy.num_replicas_in_sync`."""
    if not (multi_worker.is_multi_worker(strategy) and takes_input_context(source)):
        return False
    if not states_epoch_length(source):
        return False
    batch_size = source.batch_size
    if batch_size % strategy.num_replicas_in_sync:
        logging.info(
            "Every worker prepares every batch: the batch size %d is not a multiple of the %d "
            "replicas, so a worker's share of a batch would not match the data sharding's.",
            batch_size,
            strategy.num_replicas_in_sync,
        )
        return False
    return True


def stage_batches(strategy, source, first_batch, num_batches):
    """Batches `[first_batch, first_batch + num_batches)` of `source`'s training stream
    (`training_batches`), as `fit` under `strategy` takes them.

    Args:
        strategy: the stage's `tf.distribute.Strategy`.
        source: a `DataSource`.
        first_batch, num_batches: the stream's slice, in global batches.

    Returns:
        A `tf.data.Dataset` of global batches `(images [B, S, S, C], labels [B])`, or, when
        `shares_inputs`, a `tf.distribute.DistributedDatasetsFromFunction` whose replicas get
        `[B / num_replicas_in_sync, ...]` batches.
    """
    if not shares_inputs(strategy, source):
        return training_batches(source, first_batch, num_batches)
    return strategy.distribute_datasets_from_function(
        lambda context: training_batches(source, first_batch, num_batches, input_context=context)
    )
