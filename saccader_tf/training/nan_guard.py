"""Stops a stage at the first non-finite loss, before NaN weights can reach a checkpoint."""

import math

import keras


class NonFiniteLossError(FloatingPointError):
    """A training step produced a NaN or infinite loss term; no checkpoint was written."""


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops `fit` after the first step whose logged loss terms are not all finite.

    The stage logs are running means over the epoch, so the first step that turns one of them
    non-finite is the step that produced it. `raise_if_failed()` then raises
    `NonFiniteLossError` naming the step and every loss term; `train_stage` calls it before it
    would write the stage checkpoint, so the last good checkpoint stays as it was.

    Args:
        stage: the stage number, for the message.
        steps_per_epoch: the stage's steps per epoch, to name the batch within its epoch also when
            `fit` started mid-epoch (a resumed stage); `None` = `fit`'s own batch index.
    """

    def __init__(self, stage, steps_per_epoch=None):
        super().__init__()
        self.stage = stage
        self.steps_per_epoch = steps_per_epoch
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        values = {name: float(value) for name, value in (logs or {}).items()}
        if self.failure is None and not all(math.isfinite(v) for v in values.values()):
            step = int(self.model.optimizer.iterations.numpy())
            if self.steps_per_epoch:  # `batch` counts from where this `fit` started (maybe a resume)
                batch = (step - 1) % self.steps_per_epoch
            self.failure = (step, batch, values)
            self.model.stop_training = True

    def raise_if_failed(self):
        """Raises `NonFiniteLossError` if a non-finite loss was seen."""
        if self.failure is None:
            return
        step, batch, values = self.failure
        terms = ", ".join(f"{name}={value:.4g}" for name, value in sorted(values.items()))
        raise NonFiniteLossError(
            f"Stage {self.stage} stopped: a loss term became non-finite at its training step {step} (batch {batch} "
            f"of its epoch): {terms}. The stage-{self.stage} checkpoint was not written and earlier "
            "checkpoints are unchanged. Look for NaN/Inf pixels or labels out of range in the data, "
            "or lower --learning_rate."
        )
