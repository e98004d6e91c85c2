"""Only the project's own user-facing errors end the launcher in one line; a bug keeps its
traceback, even when it is a `ValueError` or an `OSError`."""

import contextlib
import errno
import io
import os
import subprocess
import sys
from unittest import mock

import pytest
import tensorflow as tf
from absl import app
from absl.testing import flagsaver

from saccader_tf.cli import launcher
from saccader_tf.cli.error_report import error_report
from saccader_tf.data.tfds_download import NoNetworkError
from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.model_dir.lock import ModelDirBusyError
from saccader_tf.run import orchestrator
from saccader_tf.run.settings_error import ARG, SettingsError
from saccader_tf.training.nan_guard import NonFiniteLossError
from saccader_tf.utils.errors import BadValueError, MissingFileError


class ErrorReportTest(tf.test.TestCase):
    def test_user_errors_are_their_message(self):
        for error in (
            BadValueError("the folder has no classes"),
            MissingFileError("no such folder: put one there"),
            MissingCheckpointError("stage1/x.h5 does not exist: train stage 1"),
            CorruptCheckpointError("x.h5 is damaged: train it again"),
            ModelDirBusyError("runs/a is in use by pid 7: wait for it or use another --model_dir"),
            NoNetworkError("imagenette must be downloaded: run tfds build on a machine online"),
            app.UsageError("Unexpected arguments: ['x']"),
        ):
            with self.subTest(error=type(error).__name__):
                self.assertEqual(error_report(error, "runs/a"), (2, str(error)))
        self.assertEqual(
            error_report(NonFiniteLossError("NaN loss at step 3"), "d"), (3, "NaN loss at step 3")
        )

    def test_a_settings_error_names_the_flags(self):
        error = SettingsError(f"{ARG}seed must be >= 0. Received: {ARG}seed=-1")
        self.assertEqual(error_report(error, "d"), (2, "--seed must be >= 0. Received: --seed=-1"))

    def test_bugs_are_not_reported(self):
        for error in (
            ValueError("shapes (3, 4) and (5,) do not match"),
            FileNotFoundError(errno.ENOENT, "No such file", "/lib/x.so"),
            PermissionError(errno.EACCES, "Permission denied", "/etc/x"),
            TypeError("unsupported operand"),
            tf.errors.InvalidArgumentError(None, None, "Incompatible shapes: [2,3] vs. [3,2]"),
        ):
            with self.subTest(error=type(error).__name__):
                self.assertIsNone(error_report(error, "runs/a"))

    def test_a_worker_whose_peer_stopped_names_it_with_its_own_exit_code(self):
        # What TensorFlow 2.21 raised on worker 0 of a local 2-worker cluster when worker 1 had
        # stopped on a corrupt record (its own line: exit code 2).
        message = (
            "{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/"
            "replica:0/task:0/device:CPU:0}} Collective ops is aborted by: Error reported from "
            "/job:worker/task:1: The following tasks are unhealthy (stopped sending heartbeats):\n"
            "/job:worker/replica:0/task:1\nThe tasks have crashed. Check the task logs for an "
            "earlier error, or scheduler events (e.g. preemption, eviction) to debug further.\n"
            "The error could be from a previous operation. Restart your program to reset. "
            "[Op:CollectiveReduceV2] name: "
        )
        code, line = error_report(tf.errors.UnavailableError(None, None, message), "d")
        self.assertEqual(code, 4)
        self.assertTrue(line.startswith("/job:worker/replica:0/task:1 of the cluster stopped"))
        self.assertIn("that worker's output says why", line)
        self.assertNotIn("\n", line)
        # Other unavailable services (a remote file system, a dispatcher) are not a peer's stop.
        other = tf.errors.UnavailableError(None, None, "failed to connect to all addresses")
        self.assertIsNone(error_report(other, "d"))

    def test_disk_full_and_bad_image_files_are_one_line(self):
        full = OSError(errno.ENOSPC, "No space left on device", "runs/a/stage1/x.h5")
        code, line = error_report(full, "runs/a")
        self.assertEqual(code, 2)
        self.assertRegex(line, r"^no space left on the disk of runs/a/stage1/x\.h5: free some")
        bad = tf.errors.InvalidArgumentError(
            None,
            None,
            "Error in user-defined function: [Cannot read image file /d/c0/0.png: truncated]\n\t "
            "[[{{node decode}}]]",
        )
        self.assertEqual(
            error_report(bad, "runs/a"), (2, "Cannot read image file /d/c0/0.png: truncated")
        )


class MainTest(tf.test.TestCase):
    def _main(self, error):
        """`launcher.main` with the run raising `error`: (exit code, stderr) when it exits."""
        stderr = io.StringIO()
        model_dir = os.path.join(self.get_temp_dir(), "run")
        with (
            flagsaver.flagsaver(model_dir=model_dir, stage="1"),
            mock.patch.object(orchestrator, "run", side_effect=error),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                launcher.main(["launch"])
            except SystemExit as exit_info:
                return exit_info.code, stderr.getvalue()
        self.fail("main neither exited nor raised")

    def test_a_user_error_ends_in_one_line_with_exit_code_2(self):
        code, stderr = self._main(BadValueError("the folder x has no classes: add some"))
        self.assertEqual(code, 2)
        self.assertEqual(stderr, "error: the folder x has no classes: add some\n")

    def test_a_value_error_from_a_bug_is_raised_again(self):
        with self.assertRaisesRegex(ValueError, r"^shapes do not match$"):
            self._main(ValueError("shapes do not match"))

    @pytest.mark.slow
    def test_the_command_prints_a_traceback_for_a_bug_and_one_line_for_a_user_error(self):
        code = (
            "import sys; from unittest import mock; from saccader_tf.run import orchestrator; "
            "from saccader_tf.utils.errors import BadValueError; "
            "error = {'bug': ValueError('shapes do not match'), "
            "'user': BadValueError('the folder has no classes')}[sys.argv.pop(1)]; "
            "mock.patch.object(orchestrator, 'run', side_effect=error).start(); "
            "from saccader_tf.cli import launcher; launcher.run()"
        )
        model_dir = f"--model_dir={self.get_temp_dir()}/cmd"
        runs = {
            kind: subprocess.run(
                [sys.executable, "-c", code, kind, "--stage=1", model_dir],
                capture_output=True,
                text=True,
                timeout=120,
            )
            for kind in ("bug", "user")
        }
        self.assertEqual(runs["user"].returncode, 2, runs["user"].stderr[-2000:])
        self.assertNotIn("Traceback", runs["user"].stderr)
        self.assertEqual(
            runs["user"].stderr.strip().splitlines()[-1], "error: the folder has no classes"
        )
        self.assertEqual(runs["bug"].returncode, 1)
        self.assertIn("Traceback", runs["bug"].stderr)
        self.assertEqual(
            runs["bug"].stderr.strip().splitlines()[-1], "ValueError: shapes do not match"
        )
