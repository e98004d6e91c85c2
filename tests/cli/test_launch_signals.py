"""Stray arguments, Ctrl-C and SIGTERM end the launcher with one line and a documented exit code;
TensorFlow's own warnings print once.

In process for the messages (the run is replaced); in a subprocess for a real SIGTERM sent while
stage 1 trains: the launcher saves the progress at the next step, says so in one line and exits
with 143; the same command continues from that step.
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
from unittest import mock

import pytest
import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf.cli import launcher
from saccader_tf.model_dir import stage_files
from saccader_tf.model_dir.progress import saves_on_disk
from saccader_tf.run import orchestrator
from saccader_tf.training.preemption import StageInterrupted
from tests.support.paths import REPO_ROOT
from tests.support.step_lines import read_until_step

TINY = [
    "--model=bagnet9_tiny",
    "--image_size=28",
    "--batch_size=8",
    "--num_glimpses=2",
    "--num_targets=2",
    "--eval_steps=1",
    "--train_examples=64",
]
STEPS = 50  # far more than run between the step-3 line and the signal's arrival (milliseconds)


class LauncherStopMessagesTest(tf.test.TestCase):
    def _main(self, argv, launch=None):
        stderr = io.StringIO()
        model_dir = os.path.join(self.get_temp_dir(), "run")
        self.addCleanup(signal.signal, signal.SIGTERM, signal.getsignal(signal.SIGTERM))
        with flagsaver.flagsaver(model_dir=model_dir), contextlib.redirect_stderr(stderr):
            with mock.patch.object(orchestrator, "launch", side_effect=launch):
                with self.assertRaises(SystemExit) as exit_info:
                    launcher.main(argv)
        return exit_info.exception.code, stderr.getvalue().strip()

    def test_a_stray_argument_is_one_line_not_the_help(self):
        code, stderr = self._main(["launch", "stage=1"])
        self.assertEqual(code, 2)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertRegex(stderr, r"^error: unexpected argument\(s\) stage=1: .*--name=value")

    def test_ctrl_c_outside_a_training_step(self):
        code, stderr = self._main(["launch"], launch=KeyboardInterrupt)
        self.assertEqual(code, 130)
        self.assertRegex(stderr, r"^stopped by SIGINT: what was saved is kept .*same command")
        self.assertNotIn("Traceback", stderr)

    def test_a_stage_stopped_by_a_signal_reports_where(self):
        stop = StageInterrupted(signal.SIGTERM, 2, 40, saved=True)
        code, stderr = self._main(["launch"], launch=stop)
        self.assertEqual(code, 143)
        self.assertEqual(
            stderr,
            "stopped by SIGTERM after step 40 of stage 2: progress saved; run the same command "
            "again to continue from this step.",
        )


@pytest.mark.slow
class LauncherSigtermTest(tf.test.TestCase):
    def test_sigterm_while_training_saves_and_the_same_command_continues(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        command = [sys.executable, "-m", "saccader_tf.launch", "--stage=1"]
        command += (
            [f"--model_dir={model_dir}"]
            + TINY
            + ["--epochs=1", f"--steps={STEPS}", "--save_every_steps=0", "--log_every_steps=1"]
        )
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        read_until_step(process.stdout, stage=1, step=3)  # stage 1 is training
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            self.fail("the launcher did not stop within 120 s of SIGTERM")
        self.assertEqual(process.returncode, 143, stderr[-3000:])
        self.assertNotIn("Traceback", stderr)
        last = stderr.strip().splitlines()[-1]
        self.assertRegex(last, r"^stopped by SIGTERM after step \d+ of stage 1: progress saved")
        step = int(last.split("after step ")[1].split()[0])
        self.assertBetween(step, 3, STEPS - 1)
        # --save_every_steps=0 saves only at epoch ends: this save was made for the signal.
        saves = saves_on_disk(stage_files.progress_dir(model_dir, 1))
        self.assertTrue(saves and saves[0].endswith(f"ckpt-{step}"), saves)
        resumed = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        self.assertIn(f"stage 1: resuming at step {step} of", resumed.stdout + resumed.stderr)


TF_WARNING_SCRIPT = """
import sys
from unittest import mock
import tensorflow as tf
from saccader_tf.cli import launcher
from saccader_tf.run import orchestrator

def launch(settings, stage):
    tf.get_logger().warning("a tensorflow warning")

sys.argv = ["launch", "--model_dir=" + sys.argv[1]]
with mock.patch.object(orchestrator, "launch", side_effect=launch):
    launcher.run()
"""


class TensorFlowWarningsTest(tf.test.TestCase):
    def test_a_tensorflow_warning_prints_once(self):
        # TensorFlow's logger has its own handler besides absl's on the root logger.
        result = subprocess.run(
            [sys.executable, "-c", TF_WARNING_SCRIPT, self.get_temp_dir()],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stderr.count("a tensorflow warning"), 1, result.stderr[-2000:])
