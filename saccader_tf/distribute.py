"""The one place that creates the `tf.distribute` strategy named by a flag (DESIGN §5)."""

import tensorflow as tf

STRATEGIES = ("default", "mirrored")


def make_strategy(name="default", devices=None):
    """Returns the strategy called `name`.

    Args:
        name: `"default"` (one device) or `"mirrored"` (all local GPUs, or `devices`).
        devices: optional list of device names for `"mirrored"`, e.g. `["/gpu:0", "/gpu:1"]`.

    Returns:
        A `tf.distribute.Strategy`. Build the model, optimizer and metrics in its `scope()`; the
        batch size flag is the global batch.
    """
    if name == "default":
        if devices:
            raise ValueError(f"`devices` only applies to the mirrored strategy. Received: devices={devices}")
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices or None)
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
