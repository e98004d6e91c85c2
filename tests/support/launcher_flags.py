"""The launcher's flags in process: the `RunSettings` they give, the problem they are refused
with, as the command line words it (`--flag`), and whole launcher runs in the test's process."""

import contextlib
import io
import signal
import sys
from unittest import mock

from absl.testing import flagsaver

from saccader_tf.cli import launcher
from saccader_tf.run.settings_error import SettingsError

TINY_ARGS = (
    "--model=bagnet9_tiny",
    "--image_size=28",
    "--batch_size=8",
    "--epochs=1",
    "--steps=2",
    "--eval_steps=1",
    "--num_glimpses=2",
    "--num_targets=2",
    "--test_examples=64",
)
"""Command-line flags of a tiny launcher run (a few seconds a stage), for subprocess tests."""


def settings_of(**flags):
    """The `RunSettings` of the launcher's flags with `flags` set (the others at their defaults)."""
    with flagsaver.flagsaver(**flags):
        return launcher.settings_from_flags()


def flag_problem(**flags):
    """The message the launcher refuses `flags` with (worded with `--`), or `None` when the
    settings validate for `--stage` (a flag among `flags`, default `all`)."""
    with flagsaver.flagsaver(**flags):
        try:
            launcher.settings_from_flags().validate(launcher.FLAGS.stage)
        except SettingsError as error:
            return error.worded("--")
    return None


def launch_in_process(*args):
    """Runs `python -m saccader_tf.launch *args` in this process (no interpreter start, no second
    TensorFlow import): the command-line words are parsed as absl parses them, `sys.argv` is the
    command's (for the commands quoted in errors), the flags and the SIGTERM handler are restored
    afterwards. Returns (exit code, stdout, stderr)."""
    argv = ["saccader_tf/launch.py", *args]

    def parse_and_run():
        launcher.FLAGS(argv)
        return _exit_code_of(lambda: launcher.main(argv[:1]))

    with flagsaver.flagsaver(), mock.patch.object(sys, "argv", argv):
        return _captured(parse_and_run)


def launch_with_flags(**flags):
    """`launcher.main` in this process with `flags` set as absl flag values (`flagsaver`), the
    flags and the SIGTERM handler restored afterwards. Returns (exit code, stdout, stderr)."""
    with flagsaver.flagsaver(**flags):
        return _captured(lambda: _exit_code_of(lambda: launcher.main(["launch"])))


def _exit_code_of(main):
    """`main()`'s `SystemExit` code, 0 when it returns."""
    try:
        main()
        return 0
    except SystemExit as exit_info:
        return exit_info.code


def _captured(run):
    """`(run(), stdout, stderr)` with both streams captured and the SIGTERM handler kept."""
    stdout, stderr = io.StringIO(), io.StringIO()
    handler = signal.getsignal(signal.SIGTERM)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = run()
    finally:
        signal.signal(signal.SIGTERM, handler)
    return code, stdout.getvalue(), stderr.getvalue()
