"""Stopping a stage cleanly on SIGTERM or SIGINT: its progress is saved at the next step boundary.

Schedulers (Slurm, Kubernetes, cloud preemption) send SIGTERM some seconds before they kill a job;
Ctrl-C sends SIGINT. While a stage trains, `StopSignals` turns either signal into a request, and the
`StopAtStepBoundary` callback acts on it after the step in flight: it saves the stage's progress
(`saccader_tf.model_dir.progress.StageProgress`, the same save a killed run resumes from) and raises
`StageInterrupted`, so the same command run again continues exactly where this one stopped. A
second Ctrl-C interrupts at once (`KeyboardInterrupt`), without saving.

Under a multi-worker strategy a signal may reach only some workers; the workers agree after every
step (an all-reduce of the requests), so all of them stop, and save, at the same step.
"""

import signal
import sys
import threading

import keras
import tensorflow as tf

from saccader_tf.training import multi_worker

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StageInterrupted(Exception):
    """A stage stopped on a signal at a step boundary, after saving its progress (if it saves any).

    Attributes:
        signal_number: the signal received (`signal.SIGTERM` or `signal.SIGINT`).
        exit_code: `128 + signal_number` (143 for SIGTERM, 130 for SIGINT), the shell's convention
            for a process ended by that signal.
        stage, step: the stage and the number of steps it had trained.
        saved: whether the progress was saved (it is not with `save_every_steps=None`).
    """

    def __init__(self, signal_number, stage, step, saved):
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
        self.stage = stage
        self.step = step
        self.saved = saved
        name = signal.Signals(signal_number).name
        outcome = (
            "progress saved; run the same command again to continue from this step"
            if saved
            else "nothing saved (progress saving is off)"
        )
        super().__init__(f"stopped by {name} after step {step} of stage {stage}: {outcome}.")


class StopSignals:
    """A `with` block in which SIGTERM and SIGINT request a stop instead of ending the process.

    `received` is the first signal number seen, or `None`. Outside the main thread (where Python
    cannot install handlers) the block does nothing. The previous handlers are restored on exit.
    """

    def __init__(self):
        self.received = None
        self._previous = {}

    def __enter__(self):
        self.received = None
        if threading.current_thread() is threading.main_thread():
            self._previous = {n: signal.signal(n, self._handle) for n in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
        return False

    def _handle(self, number, frame):
        if self.received is not None and number == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once
        if self.received is None:
            self.received = number
            print(
                f"\n{signal.Signals(number).name} received: stopping after the current step and "
                "saving progress (Ctrl-C again stops at once, without saving).",
                file=sys.stderr,
                flush=True,
            )


class StopAtStepBoundary(keras.callbacks.Callback):
    """After every training step: if a stop was requested (on any worker), save and raise.

    Place it after the stage's `ProgressSaver` and `NonFiniteLossGuard`.

    Args:
        signals: the stage's `StopSignals`.
        stage: the stage number (for the message).
        progress: the stage's `StageProgress`, or `None` when the stage saves no progress.
        guard: the stage's `NonFiniteLossGuard` (no non-finite weight is ever saved).
        strategy: the stage's `tf.distribute.Strategy` (multi-worker: the workers agree).
    """

    def __init__(self, signals, stage, progress, guard, strategy):
        super().__init__()
        self.signals = signals
        self.stage = stage
        self.progress = progress
        self.guard = guard
        self.agree = _agreement(strategy)

    def on_train_batch_end(self, batch, logs=None):
        requested = self.signals.received
        if self.agree is not None:
            requested = self.agree(0 if requested is None else int(requested)) or None
        if requested is None:
            return
        saved = False
        if self.progress is not None and self.guard.check_weights(self.progress.variables):
            self.progress.save()
            saved = True
        step = self.progress.step if self.progress is not None else None
        raise StageInterrupted(int(requested), self.stage, step, saved)


def _agreement(strategy):
    """For a multi-worker strategy, a function `request -> the request of any worker` (a signal
    number or 0; SIGTERM wins over SIGINT), an all-reduced sum of one count per stop signal."""
    if not multi_worker.is_multi_worker(strategy):
        return None

    @tf.function
    def counts_over_workers(counts):
        def replica_sum():
            context = tf.distribute.get_replica_context()
            return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(counts))

        return strategy.experimental_local_results(strategy.run(replica_sum))[0]

    def agree(request):
        counts = tf.constant([int(request == number) for number in STOP_SIGNALS], tf.int32)
        with strategy.scope():
            summed = counts_over_workers(counts).numpy()
        return next((int(n) for n, count in zip(STOP_SIGNALS, summed) if count), 0)

    return agree
