"""One launcher per model_dir: a second one is refused naming the first; a killed holder's lock does
not block; under multi-worker only the chief locks.

The first launcher is stood in for by a small Python process that holds the lock (it loads
`model_dir_lock.py` alone, without TensorFlow, so it starts in a fraction of a second).
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
from unittest import mock

import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf.cli import launcher as launch
from saccader_tf.model_dir import lock as model_dir_lock
from saccader_tf.model_dir.lock import ModelDirBusyError, ModelDirLock
from saccader_tf.training import multi_worker

_HOLDER = r"""
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("model_dir_lock", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with module.ModelDirLock(sys.argv[2], command="first-launcher --lr=0.1"):
    print("locked", flush=True)
    time.sleep(120)
"""


class ModelDirLockTest(tf.test.TestCase):
    def _hold(self, model_dir):
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, model_dir_lock.__file__, model_dir],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        self.assertEqual(holder.stdout.readline().strip(), "locked")
        return holder

    def _main(self, model_dir, stage="2"):
        """The launcher in process (`--stage=2` with no stage-1 file: it stops right after
        locking)."""
        stderr = io.StringIO()
        flags = dict(
            model="bagnet9_tiny",
            image_size=28,
            num_glimpses=3,
            num_targets=4,
            batch_size=16,
            train_examples=32,
            stage=stage,
            model_dir=model_dir,
        )
        with flagsaver.flagsaver(**flags), contextlib.redirect_stderr(stderr):
            with self.assertRaises(SystemExit) as exit_info:
                launch.main(["launch"])
        return exit_info.exception.code, stderr.getvalue()

    def test_second_launcher_refused_then_accepted_after_the_first_is_killed(self):
        model_dir = os.path.join(self.get_temp_dir(), "busy")
        holder = self._hold(model_dir)
        with self.assertRaisesRegex(
            ModelDirBusyError,
            rf"in use by another launcher, process {holder.pid} on host "
            r"\S+ \(started .*: first-launcher --lr=0\.1\).*kill",
        ):
            with ModelDirLock(model_dir):
                pass
        code, line = self._main(model_dir)
        self.assertEqual(code, 2)
        self.assertRegex(
            line, rf"(?m)^error: {model_dir} is in use by another launcher, process {holder.pid} "
        )

        holder.send_signal(signal.SIGKILL)  # no clean-up: the lock file stays behind
        holder.wait()
        self.assertTrue(os.path.exists(os.path.join(model_dir, model_dir_lock.LOCK_FILE)))
        code, line = self._main(model_dir)
        self.assertEqual(code, 2)
        self.assertRegex(
            line, r"(?m)^error: Stage 2 needs the stage-1 checkpoint"
        )  # it got past the lock
        with ModelDirLock(model_dir) as lock:
            self.assertEqual(lock.holder()["pid"], os.getpid())

    def test_only_the_chief_takes_the_lock(self):
        model_dir = os.path.join(self.get_temp_dir(), "workers")
        self._hold(model_dir)
        with mock.patch.object(multi_worker, "is_chief", return_value=False):
            code, line = self._main(model_dir)  # a non-chief worker writes nothing: no lock needed
        self.assertEqual(code, 2)
        self.assertRegex(line, r"(?m)^error: Stage 2 needs the stage-1 checkpoint")

    def test_evaluation_and_export_are_refused_too(self):
        model_dir = os.path.join(self.get_temp_dir(), "busy_export")
        holder = self._hold(model_dir)
        for stage in ("eval", "export"):
            code, stderr = self._main(model_dir, stage=stage)
            self.assertEqual(code, 2)
            self.assertRegex(
                stderr,
                rf"(?m)^error: {model_dir} is in use by another launcher, process {holder.pid} ",
            )
