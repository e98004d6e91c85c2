"""Stops a stage at the first non-finite loss or weight, before NaN weights can reach any save."""

import math

import keras

from saccader_tf.utils.finite import non_finite_variables


class NonFiniteLossError(FloatingPointError):
    """A training step produced a NaN or infinite loss term or weight; no checkpoint was written."""


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops `fit` after the first step whose logged loss terms are not all finite, and checks the
    weights before every save (`check_weights`).

    The stage logs are running means over the epoch, so the first step that turns one of them
    non-finite is the step that produced it. A step can also turn weights non-finite while its own
    loss is still finite (the update comes after the loss, e.g. with a huge learning rate), so
    every writer of a save (the progress saver, the stage checkpoint) first calls `check_weights`.
    `raise_if_failed()` then raises `NonFiniteLossError` naming the step and what was not finite;
    `train_stage` calls it before it would write the stage checkpoint, so the last good checkpoint
    stays as it was.

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
            terms = ", ".join(f"{name}={value:.4g}" for name, value in sorted(values.items()))
            self._fail(
                batch,
                f"a loss term became non-finite at its training step {{step}} ({{batch}}): {terms}",
            )

    def check_weights(self, variables):
        """Whether `variables` may be saved: no failure seen and every float variable finite.

        Records a failure (and stops `fit`) when one is not finite.
        """
        if self.failure is not None:
            return False
        bad = non_finite_variables(variables)
        if bad:
            shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            self._fail(
                None,
                f"{len(bad)} weight tensor(s) became non-finite by its training step {{step}} "
                f"({{batch}}) while the loss stayed finite: {shown}",
            )
        return not bad

    def _fail(self, batch, template):
        step = int(self.model.optimizer.iterations.numpy()) if self.model is not None else 0
        if (
            self.steps_per_epoch and step
        ):  # `batch` counts from where this `fit` started (maybe a resume)
            batch = (step - 1) % self.steps_per_epoch
        where = (
            f"batch {batch} of its epoch" if batch is not None else "the last step before a save"
        )
        self.failure = (step, template.format(step=step, batch=where))
        if self.model is not None:
            self.model.stop_training = True

    def raise_if_failed(self):
        """Raises `NonFiniteLossError` if a non-finite loss or weight was seen."""
        if self.failure is None:
            return
        raise NonFiniteLossError(
            f"Stage {self.stage} stopped: {self.failure[1]}. The stage-{self.stage} checkpoint "
            "was not written and earlier checkpoints are unchanged (no save holds a non-finite "
            "weight). Look for NaN/Inf pixels or labels out of range in the data, or lower "
            "--learning_rate (with --retrain: saved progress keeps its settings)."
        )
