"""The one place that creates the `tf.distribute` strategy named by a flag (docs/distributed.md)."""

import tensorflow as tf

from saccader_tf.utils.errors import BadValueError

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
        if devices:
            check_devices(devices)
        return tf.distribute.MirroredStrategy(devices=devices or None)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")


def check_devices(devices):
    """Every name in `devices` is a device of this process (TensorFlow would otherwise place the
    work on another device without a word); raises `BadValueError` naming what is there."""
    present = tf.config.list_logical_devices()
    known = {(d.device_type, tf.DeviceSpec.from_string(d.name).device_index) for d in present}
    for name in devices:
        spec = tf.DeviceSpec.from_string(name)
        device_type = (spec.device_type or "").upper()
        if (device_type, spec.device_index or 0) not in known:
            names = ", ".join(d.name for d in present)
            raise BadValueError(
                f"the devices list names {name}, which this machine does not have (it has: "
                f"{names}): name devices it has, or leave --devices unset to use all local GPUs."
            )
