"""Detects, by behaviour, the two Keras `fit` bugs under `MultiWorkerMirroredStrategy` that
`multi_worker.fit_compat` works around (see `saccader_tf.training.multi_worker`).

Each probe calls the installed Keras trainer function on a stand-in strategy: a
`MultiWorkerMirroredStrategy` instance made without its constructor (no cluster, no network, no
second process), whose `reduce` only records its arguments and checks them as the real
multi-worker `reduce` does. So the shim is applied where Keras still does what fails, whatever
its version number:

1. `TensorFlowTrainer._maybe_symbolic_build` hands the whole first batch, a nest of distributed
   values, to `strategy.reduce` (the multi-worker `reduce` takes one value, not a nest);
2. `reduce_per_replica(..., "mean")` reduces a scalar log with `axis=0` (a scalar has no axis 0).

A Keras without the function (renamed, rewritten) has neither bug as known here: the probe
answers False and the shim, which patches that function, stays off.
"""

import contextlib

import tensorflow as tf


class ProbeCall(Exception):
    """Raised by the stand-in strategy to report how Keras called `reduce`."""


class _Extended:
    def _in_multi_worker_mode(self):  # noqa: D401 (Keras asks this)
        return True


def _stand_in_strategy(check):
    """A `MultiWorkerMirroredStrategy` whose `reduce(op, value, axis)` calls `check(value, axis)`
    and returns `value`."""

    class StandIn(tf.distribute.MultiWorkerMirroredStrategy):
        def __init__(self):  # no cluster: nothing of the real constructor runs
            self._extended = _Extended()

        def reduce(self, reduce_op, value, axis):
            check(value, axis)
            return value

        def scope(self):
            return contextlib.nullcontext()

        def experimental_local_results(self, value):
            if isinstance(value, tf.distribute.DistributedValues):
                return value.values
            return (value,)

    return StandIn()


def _trainer_module():
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return None
    return trainer


def symbolic_build_reduces_a_nest(trainer_module=None):
    """Bug 1: whether `_maybe_symbolic_build` passes a nest of distributed values (the first
    batch, `(images, labels)`) to one `strategy.reduce` call."""
    trainer_module = trainer_module or _trainer_module()
    build = getattr(getattr(trainer_module, "TensorFlowTrainer", None), "_maybe_symbolic_build", 0)
    if not callable(build):
        return False
    from tensorflow.python.distribute import values as distributed_values

    seen = []

    def check(value, axis):
        seen.append(
            not isinstance(value, tf.distribute.DistributedValues) and bool(tf.nest.flatten(value))
        )

    strategy = _stand_in_strategy(check)
    per_replica = distributed_values.PerReplica
    batch = (per_replica((tf.zeros([1, 2]),)), per_replica((tf.zeros([1], tf.int32),)))

    class Trainer:
        _distribute_strategy = distribute_strategy = strategy

        def _symbolic_build(self, data_batch=None):
            raise ProbeCall()

    try:
        build(Trainer(), iterator=[(0, 0, iter([batch]))])
    except ProbeCall:
        pass
    except Exception:  # noqa: BLE001 (a rewritten function: not the known bug)
        return False
    return any(seen)


def reduces_scalars_on_axis_0(trainer_module=None):
    """Bug 2: whether `reduce_per_replica(logs, strategy, "mean")` asks the multi-worker strategy
    to reduce a scalar along `axis=0`."""
    trainer_module = trainer_module or _trainer_module()
    reduce_per_replica = getattr(trainer_module, "reduce_per_replica", None)
    if not callable(reduce_per_replica):
        return False
    seen = []

    def check(value, axis):
        rank = getattr(tf.convert_to_tensor(value).shape, "rank", None)
        seen.append(axis is not None and rank is not None and axis >= rank)

    try:
        reduce_per_replica({"loss": tf.constant(1.0)}, _stand_in_strategy(check), "mean")
    except Exception:  # noqa: BLE001 (a rewritten function: not the known bug)
        return False
    return any(seen)
