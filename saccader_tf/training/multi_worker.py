"""`MultiWorkerMirroredStrategy` support: chief detection and a `fit` shim enabled where the
installed Keras shows the bug (docs/distributed.md, "Keras workarounds").

Keras 3.15's `model.fit` fails under `tf.distribute.MultiWorkerMirroredStrategy`
(keras-team/keras#20585, tensorflow/tensorflow#72388), for two reasons, both in
`keras/src/backend/tensorflow/trainer.py`:

1. `TensorFlowTrainer._maybe_symbolic_build` takes the first distributed batch and calls
   `strategy.reduce("MEAN", batch, axis=None)` on the whole `(images, labels)` tuple. The
   multi-worker strategy's `reduce` does not accept a nest of `PerReplica` values: "ValueError:
   Attempt to convert a value (PerReplica:{...}) with an unsupported type ... to a Tensor".
   The batch only gives the symbolic build its shapes, so one local replica's batch does as well.
2. `reduce_per_replica(..., reduction="mean")` calls `strategy.reduce("MEAN", v, axis=0)` on the
   step's logs when the strategy is multi-worker; the logs are scalars, so: "ValueError: Invalid
   reduction dimension 0 for input with 0 dimensions". Scalars are averaged across replicas
   (`axis=None`) instead; tensors with a batch axis keep `axis=0`.

`fit_compat(strategy)` applies each fix for the duration of a `with` block, only for a
multi-worker strategy and only when `keras_fit_probe` sees its bug in the installed Keras (the
probe calls the Keras function on a stand-in strategy; no version number is consulted). On a Keras
that behaves, it does nothing. `tests/training/test_multi_worker.py` checks that the probe agrees
with plain `fit` on a real two-worker cluster, and that the probe no longer sees the bugs inside
the block.

The package otherwise never imports `keras.src` (Keras's private modules); this module is the one
exception. The bug lives in private Keras trainer functions, so the workaround has to patch them;
it is confined here (and in the probe), applied only inside `fit_compat` where the bug shows, and
restored afterwards.

Known and accepted: BatchNormalization moving statistics are per-replica (Keras creates them with
`aggregation="none"`, as under `MirroredStrategy`); the chief's statistics are the ones it saves.

The second gap, XLA under any multi-replica strategy (`MirroredStrategy` included):
Keras compiles its whole train function, `strategy.run(train_step)` and the reduction of the logs,
as ONE XLA cluster (`tf.function(..., jit_compile=True)` in `TensorFlowTrainer._make_function`),
and XLA cannot place one cluster on several devices: "Trying to access resource
stem_conv3x3/kernel/replica_1 located in device CPU:1 from device CPU:0". The working unit is one
replica's step, which is what `StageTrainer.compile` compiles instead when `needs_replica_jit`
says so (`replica_compiled`); the gradient all-reduce and the optimizer update stay outside XLA
(a cross-replica sum inside a nested function is a `merge_call`, which TensorFlow refuses there).
Same version gate idea: `tests/training/test_xla_mixed_precision.py` checks that Keras's own XLA
step still fails under `MirroredStrategy` on `BROKEN_JIT_KERAS`, and says to drop the split the day
it works.
"""

import contextlib
import functools
import re

import keras
import tensorflow as tf
from absl import logging

from saccader_tf.training import keras_fit_probe

# Inclusive range of Keras versions whose `jit_compile=True` train step fails on several replicas.
BROKEN_JIT_KERAS = ((3, 0, 0), (3, 15, 99))


def _version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def needs_replica_jit(strategy, keras_version=None):
    """Whether XLA must compile each replica's step rather than Keras's whole step (see above).

    True when `strategy` runs more than one replica and `keras_version` (default: the installed
    one) lies in `BROKEN_JIT_KERAS`.
    """
    version = _version_tuple(keras_version or keras.__version__)
    in_range = BROKEN_JIT_KERAS[0] <= version <= BROKEN_JIT_KERAS[1]
    return in_range and strategy.num_replicas_in_sync > 1


def replica_compiled(function):
    """`function` XLA-compiled, to be called inside one replica (`strategy.run`) of a step.

    It must not hold a cross-replica reduction (`all_reduce`, `optimizer.apply_gradients`).
    """
    return tf.function(function, jit_compile=True, reduce_retracing=True)


def is_multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` spanning more than one worker."""
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._num_workers > 1
    )  # noqa: SLF001 (no public accessor)


def task_info(strategy):
    """`(task_type, task_id)` of this process (`(None, None)` outside a multi-worker cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """True unless this process is a non-chief worker: only the chief writes checkpoints and logs.

    The chief is the task of type `chief`, or worker 0 when the cluster has no `chief` task.
    """
    task_type, task_id = task_info(strategy)
    if task_type is None:
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    if task_type == "chief":
        return True
    return "chief" not in cluster and task_type == "worker" and task_id == 0


def keras_fit_bugs(trainer_module=None):
    """`(build bug, reduce bug)`: which of the two bugs above the installed Keras (or
    `trainer_module`, a stand-in for `keras.src.backend.tensorflow.trainer`) shows, probed by
    behaviour (`keras_fit_probe`: no cluster, no network)."""
    return (
        keras_fit_probe.symbolic_build_reduces_a_nest(trainer_module),
        keras_fit_probe.reduces_scalars_on_axis_0(trainer_module),
    )


@functools.cache
def _installed_keras_bugs():
    return keras_fit_bugs()


def needs_fit_shim():
    """Whether the installed Keras shows either multi-worker `fit` bug (probed once a process)."""
    return any(_installed_keras_bugs())


END_OF_RUN_BARRIER = "saccader_tf_end_of_run"
END_OF_RUN_TIMEOUT_SECONDS = 24 * 3600
"""How long a worker waits at the end for the chief's evaluation and export."""


def wait_for_every_worker(strategy, timeout_seconds=END_OF_RUN_TIMEOUT_SECONDS):
    """Blocks until every worker of a multi-worker `strategy` has called this (a barrier of the
    coordination service; elsewhere it returns at once).

    Without it a worker that finished training exits while the chief still evaluates and exports,
    and the coordination service (run by the chief) then reports the silent worker: "E0000 ...
    BaseCollectiveExecutor::StartAbort UNAVAILABLE ... The following tasks are unhealthy (stopped
    sending heartbeats)", and aborts the chief's collectives. With it the workers exit together.
    A barrier that fails (a worker crashed, `timeout_seconds` passed) is logged, not raised: this
    worker's work is done.
    """
    if not is_multi_worker(strategy):
        return
    from tensorflow.python.eager import context  # the barrier has no public endpoint

    try:
        context.context().wait_at_barrier(END_OF_RUN_BARRIER, int(timeout_seconds * 1000))
    except tf.errors.OpError as error:
        logging.warning("The end-of-run barrier of the workers failed: %s", error.message)


@contextlib.contextmanager
def fit_compat(strategy):
    """Makes `model.fit`/`evaluate` work under a multi-worker strategy within the block (see
    above): each fix is applied only when the probe sees its bug in the installed Keras."""
    build_bug, reduce_bug = _installed_keras_bugs() if is_multi_worker(strategy) else (0, 0)
    if not (build_bug or reduce_bug):
        yield
        return
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica
    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    if reduce_bug:
        tf_trainer.reduce_per_replica = fixed_reduce_per_replica(original_reduce, tf_trainer)
    if build_bug:
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = fixed_symbolic_build(original_build)
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build


def fixed_reduce_per_replica(original_reduce, tf_trainer):
    """Keras's `reduce_per_replica` with scalars averaged across replicas (`axis=None`) under a
    multi-worker strategy; everything else goes to `original_reduce`."""

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(
            strategy
        ):

            def mean(value):
                local = strategy.experimental_local_results(value)[0]
                axis = 0 if getattr(local, "shape", tf.TensorShape([])).rank else None
                return strategy.reduce("MEAN", value, axis=axis)

            return tf.nest.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    return reduce_per_replica


def fixed_symbolic_build(original_build):
    """Keras's `_maybe_symbolic_build` given one local replica's first batch (its shapes are all
    the symbolic build needs) instead of a cross-replica reduce of the whole batch."""

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None or iterator is None:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = next(it)
            data_batch = tf.nest.map_structure(
                lambda v: (
                    v if v is None else self.distribute_strategy.experimental_local_results(v)[0]
                ),
                batch,
            )
            break
        return original_build(self, iterator=None, data_batch=data_batch)

    return maybe_symbolic_build
