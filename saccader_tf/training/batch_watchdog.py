"""`BatchWatchdog`: ends a training process whose steps stopped coming, with one line instead of a
silent hang.

A training step waits inside TensorFlow for its batch; when the batches come from another process
that has gone (a tf.data service dispatcher or worker, docs/distributed.md, "tf.data service"),
TensorFlow waits for it without end, and neither SIGTERM nor Ctrl-C is handled, because Python runs
signal handlers only between its own instructions. A daemon thread watches the time since the
last step ended; past `timeout` seconds it prints the message and ends the process with exit code
2 (`os._exit`: the main thread cannot be interrupted). For the saved progress that is a `kill -9`,
which a resume handles (see docs/reliability.md).
"""

import os
import sys
import threading
import time

import keras


class BatchWatchdog(keras.callbacks.Callback):
    """Ends the process when no training step ends within `timeout` seconds.

    Armed from the start of each `fit` (the first step also builds the step function) and after
    every step; disarmed during evaluation and after `fit`.

    Args:
        timeout: seconds a step may take, data wait included (> 0).
        message: the one-line reason printed as `error: <message>` on stderr.
        exit: called with the exit code 2 (default `os._exit`; tests pass their own).
        clock: a monotonic clock in seconds (default `time.monotonic`).
    """

    def __init__(self, timeout, message, *, exit=os._exit, clock=time.monotonic):
        super().__init__()
        if not 0 < timeout < float("inf"):
            raise ValueError(f"`timeout` must be positive. Received: timeout={timeout!r}")
        self.timeout, self.message = timeout, message
        self._exit, self._clock = exit, clock
        self._armed_at = None
        self._lock = threading.Lock()
        self._thread = None

    def _arm(self):
        with self._lock:
            self._armed_at = self._clock()
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, daemon=True, name="batch-watchdog")
            self._thread.start()

    def _disarm(self):
        with self._lock:
            self._armed_at = None

    def on_train_begin(self, logs=None):
        self._arm()

    def on_train_batch_end(self, batch, logs=None):
        self._arm()

    def on_test_begin(self, logs=None):
        self._disarm()

    def on_test_end(self, logs=None):
        self._arm()

    def on_train_end(self, logs=None):
        self._disarm()

    def overdue(self):
        """Whether the watchdog is armed and `timeout` seconds have passed since it was."""
        with self._lock:
            armed_at = self._armed_at
        return armed_at is not None and self._clock() - armed_at > self.timeout

    def _watch(self):
        while True:
            time.sleep(min(1.0, self.timeout / 10))
            if self.overdue():
                print(f"error: {self.message}", file=sys.stderr, flush=True)
                self._exit(2)
                return
