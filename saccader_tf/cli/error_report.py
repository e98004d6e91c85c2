"""Which failures of a launcher run the user can fix, as one line each (the rest are bugs).

`error_report(error, model_dir)` gives `(exit code, message)` for an error the project raises on
purpose for input the user gave, and `None` for anything else: the launcher re-raises those, so a
real bug keeps its traceback, even when it is a `ValueError` or an `OSError`. One line:

- exit code 2: a setting (`SettingsError`, worded with the flags: `--batch_size`), a usage error,
  any `saccader_tf.utils.errors.UserError` (bad data or input files), the files in `model_dir`
  (missing or damaged), another launcher on the same `model_dir`, a TFDS download without network,
  a full disk, or an image file that tf.data could not decode (named by the error);
- exit code 3: training diverged (a non-finite loss or weight);
- exit code 4: another worker of a multi-worker cluster stopped (TensorFlow's coordination
  service reports it as no longer sending heartbeats), so this one cannot go on: the reason is in
  that worker's output.
"""

import errno
import re

import tensorflow as tf
from absl import app

from saccader_tf.cli.exit_codes import DIVERGED, PEER_STOPPED, USER_ERROR
from saccader_tf.run.settings_error import SettingsError
from saccader_tf.training.nan_guard import NonFiniteLossError
from saccader_tf.utils.errors import UserError

USER_ERRORS = (UserError, app.UsageError)
"""The errors whose message is the whole report (exit code 2). The model_dir errors (missing or
damaged files, another launcher on it) and a TFDS download without network are `UserError`s."""

DATA_MARKERS = ("Cannot read image file", "Labels must lie in", "Cannot decode the image of record")
"""How the data pipeline names a bad file or label inside a TensorFlow error (the line kept)."""

PEER_MARKERS = ("stopped sending heartbeats", "tasks have crashed", "heartbeat timeout")
"""How TensorFlow's coordination service says that another task of the cluster is gone."""


def error_report(error, model_dir):
    """`(exit code, one-line message)` for `error`, or `None` when it is not a known user problem.

    Args:
        error: the exception that ended the run.
        model_dir: the run's `--model_dir` (named when a full disk has no file name).
    """
    if isinstance(error, NonFiniteLossError):
        return DIVERGED, str(error)
    if is_disk_full(error):
        where = getattr(error, "filename", None) or model_dir
        return USER_ERROR, (
            f"no space left on the disk of {where}: free some space (saved progress is kept, so "
            "re-running the same command continues) or use a --model_dir on another disk."
        )
    if isinstance(error, SettingsError):
        return USER_ERROR, error.worded("--")
    if isinstance(error, USER_ERRORS):
        return USER_ERROR, str(error)
    if isinstance(error, tf.errors.InvalidArgumentError):  # bad data met while training
        line = data_problem(error)
        return None if line is None else (USER_ERROR, line)
    if isinstance(error, tf.errors.UnavailableError):
        line = peer_stopped(error)
        return None if line is None else (PEER_STOPPED, line)
    return None


def peer_stopped(error):
    """The line for a TensorFlow error saying that other tasks of the cluster are gone (`None`
    when it does not say so), naming them."""
    if not any(marker in error.message for marker in PEER_MARKERS):
        return None
    # TensorFlow lists the gone tasks one per line (other task names in it are this one's devices).
    tasks = re.findall(r"^\s*(/job:\w+/replica:\d+/task:\d+)\s*$", error.message, re.MULTILINE)
    who = ", ".join(dict.fromkeys(tasks)) if tasks else "another worker"
    return (
        f"{who} of the cluster stopped (TensorFlow: no heartbeats from it), so this worker stops "
        "too: that worker's output says why. Fix that, then start every worker again with the "
        "same command (saved progress is kept)."
    )


def is_disk_full(error):
    """True for an `OSError` ENOSPC or a TensorFlow error saying the disk is full."""
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    return isinstance(error, tf.errors.OpError) and "No space left on device" in error.message


def data_problem(error):
    """The line of a TensorFlow error that names a bad file or label (`None` when none does)."""
    for line in error.message.splitlines():
        for marker in DATA_MARKERS:
            if marker in line:  # drop tf.data's "Error in user-defined function ...: [" around it
                return line[line.index(marker) :].strip().rstrip("]").strip()
    return None
