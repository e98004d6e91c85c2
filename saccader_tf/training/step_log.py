"""Plain progress lines every N training steps, for long runs whose output goes to a log file.

An ImageNet epoch takes hours, so one line per epoch says nothing for hours, and Keras's progress
bar writes terminal escape codes. `StepLogger` prints, every `every` steps, one line without escape
codes (stage, step of the stage, the epoch's running metrics, images per second since the last
line) and writes the same metrics as TensorBoard scalars at that step.
"""

import math
import sys
import time

import keras
import tensorflow as tf


class StepLogger(keras.callbacks.Callback):
    """Logs every `every` training steps of a stage.

    Args:
        stage: the stage number (named in each line).
        every: the interval in steps (>= 1), counted in stage steps (the optimizer's iterations),
            so a resumed stage logs at the same steps as an uninterrupted one.
        total_steps: the stage's number of steps (for `step 200/12500`), or `None`.
        batch_size: images per (global) step, for images/s; `None` leaves the rate out.
        log_dir: TensorBoard directory for the scalars (`step/<metric>`), or `None`.
        stream: where the lines go (default `sys.stdout`).
    """

    def __init__(self, stage, every, total_steps=None, batch_size=None, log_dir=None, stream=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"`every` must be >= 1. Received: every={every}")
        self.stage = stage
        self.every = every
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.log_dir = log_dir
        self.stream = stream
        self._writer = None
        self._last = None  # (step, time) of the previous line

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        now = time.perf_counter()
        if self._last is None:
            self._last = (step - 1, self._started)
        if step % self.every:
            return
        values = {name: float(value) for name, value in (logs or {}).items()}
        print(self.line(step, values, now), file=self.stream or sys.stdout, flush=True)
        self._last = (step, now)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.log_dir)
            with self._writer.as_default():
                for name, value in values.items():
                    tf.summary.scalar(f"step/{name}", value, step=step)

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self._last = None

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def line(self, step, values, now):
        """The line for `step`: `stage 1 step 200/12500: loss 2.31, accuracy 0.41; 152.0
        images/s` (metrics are the epoch's running means, as Keras logs them)."""
        of = f"/{self.total_steps}" if self.total_steps else ""
        metrics = ", ".join(f"{name} {_number(value)}" for name, value in sorted(values.items()))
        text = f"stage {self.stage} step {step}{of}: {metrics}"
        last_step, last_time = self._last
        if self.batch_size and now > last_time and step > last_step:
            rate = (step - last_step) * self.batch_size / (now - last_time)
            text += f"; {rate:.1f} images/s"
        return text


def _number(value):
    return f"{value:.4g}" if math.isfinite(value) else str(value)
