"""Learning-rate schedules of a training stage: cosine decay (default) or constant, with an optional
linear warm-up (a reproduction switch: the official TF1 code warms up; off by default).

    warm-up (step < W):   lr(step) = peak · step / W
    after it (cosine):    lr(step) = peak · (1 + cos(π · min(step − W, D) / D)) / 2,   D = total − W
    after it (constant):  lr(step) = peak

With `warmup_steps=0` the schedule is `keras.optimizers.schedules.CosineDecay(peak, total)` for
`cosine` (the learning rate falls from `peak` at step 0 to 0 at the last step) and the number
`peak` for `constant`.
"""

import math

import keras
import tensorflow as tf

from saccader_tf.utils.validation import check_int

SCHEDULES = ("cosine", "constant")


def learning_rate_schedule(peak, total_steps=None, *, schedule="cosine", warmup_steps=0):
    """The learning rate of a stage of `total_steps` steps.

    Args:
        peak: the peak learning rate (> 0).
        total_steps: the stage's steps; `None` or 0 = unknown (then `cosine` cannot decay and the
            rate stays `peak` after the warm-up, as before).
        schedule: one of `SCHEDULES`.
        warmup_steps: steps of the linear warm-up from 0 to `peak` (0 = none, the default). Must
            be below `total_steps` when that is known.

    Returns:
        A float (a constant rate) or a `keras.optimizers.schedules.LearningRateSchedule`.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"`schedule` must be one of {SCHEDULES}. Received: schedule={schedule!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(
            f"`warmup_steps` must be an int >= 0. Received: warmup_steps={warmup_steps!r}"
        )
    if total_steps and warmup_steps >= total_steps:
        raise ValueError(
            f"`warmup_steps` must be below the stage's {total_steps} steps (the warm-up would "
            f"take the whole stage): use fewer warm-up steps. "
            f"Received: warmup_steps={warmup_steps}"
        )
    decay = schedule == "cosine" and bool(total_steps)
    if not warmup_steps:
        if decay:
            return keras.optimizers.schedules.CosineDecay(peak, decay_steps=total_steps)
        return peak
    return WarmupSchedule(peak, warmup_steps, total_steps - warmup_steps if decay else None)


@keras.saving.register_keras_serializable(package="saccader_tf")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak` over `warmup_steps`, then cosine decay to 0 over
    `decay_steps` (or constant `peak` when `decay_steps` is `None`); see the module docstring.

    Args:
        peak: the learning rate at the end of the warm-up.
        warmup_steps: W >= 1.
        decay_steps: D >= 1, or `None` for a constant rate after the warm-up.
    """

    def __init__(self, peak, warmup_steps, decay_steps=None):
        check_int("warmup_steps", warmup_steps)
        if decay_steps is not None:
            check_int("decay_steps", decay_steps)
        self.peak = peak
        self.warmup_steps = warmup_steps
        self.decay_steps = decay_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        peak = tf.cast(self.peak, tf.float32)
        warmup = float(self.warmup_steps)
        rising = peak * step / warmup
        after = peak
        if self.decay_steps is not None:
            done = tf.minimum(step - warmup, float(self.decay_steps)) / float(self.decay_steps)
            after = peak * 0.5 * (1.0 + tf.cos(math.pi * done))
        return tf.where(step < warmup, rising, after)

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
        }
