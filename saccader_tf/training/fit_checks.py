"""Checks of the Keras callbacks a stage trainer is fitted with, made before the first step."""

import keras

from saccader_tf.utils.errors import BadValueError


def check_callbacks(callbacks, optimizer):
    """Stops a `fit` whose callbacks cannot work with the trainer's optimizer.

    `keras.callbacks.ReduceLROnPlateau` sets `optimizer.learning_rate`, which Keras forbids when
    the optimizer was made with a `LearningRateSchedule` (the launcher's default cosine decay,
    `training.schedules`); Keras would say so only when the plateau is reached, possibly hours
    into the run. This says it before the first step.

    Args:
        callbacks: the `callbacks` given to `fit` (a list, a `CallbackList` or `None`).
        optimizer: the compiled optimizer (a `LossScaleOptimizer` is looked through), or `None`.

    Raises:
        BadValueError: a `ReduceLROnPlateau` with a scheduled learning rate.
    """
    if optimizer is None:  # not compiled: Keras's `fit` says so
        return
    if not any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in callbacks or ()):
        return
    schedule = learning_rate_schedule_name(optimizer)
    if schedule is not None:
        raise BadValueError(
            f"ReduceLROnPlateau sets the learning rate, but this optimizer's learning rate is a "
            f"schedule ({schedule}), which cannot be set: compile the trainer with a float "
            "learning rate (e.g. keras.optimizers.Adam(1e-3)) or leave out ReduceLROnPlateau."
        )


def learning_rate_schedule_name(optimizer):
    """The class name of `optimizer`'s `LearningRateSchedule`, or `None` for a float rate."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    learning_rate = optimizer.get_config()["learning_rate"]  # a schedule is serialised as a dict
    return learning_rate["class_name"] if isinstance(learning_rate, dict) else None
