"""The one place that creates the `tf.distribute` strategy named by a flag (docs/distributed.md)."""

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name="default", devices=None):
    """Returns the strategy called `name`.

    Args:
        name: `"default"` (one device), `"mirrored"` (all local GPUs, or `devices`) or
            `"multi_worker"` (`MultiWorkerMirroredStrategy`; the cluster and this process's task
            come from the `TF_CONFIG` environment variable, see `launch/multi_worker_local.py`).
        devices: optional list of device names for `"mirrored"`, e.g. `["/gpu:0", "/gpu:1"]`.

    Returns:
        A `tf.distribute.Strategy`. Build the model, optimizer and metrics in its `scope()`; the
        batch size flag is the global batch. Under `"multi_worker"`, train with
        `saccader_tf.training.train_stage.train_stage`, which works around Keras `fit` gaps
        (`saccader_tf.training.multi_worker`) and lets only the chief write.
    """
    if devices and name != "mirrored":
        raise ValueError(
            f"`devices` only applies to the mirrored strategy. Received: devices={devices}"
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices or None)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
