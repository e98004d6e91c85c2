"""Which failures of a launcher run the user can fix, as one line each (the rest are bugs).

`error_report(error, model_dir)` gives `(exit code, message)` for a problem that a flag, a file,
the data or the machine explains, and `None` for anything else (the launcher re-raises those, so
a real bug keeps its traceback). Exit code 2: the flags, the files in `model_dir`, the data, the
disk, the network or another launcher on the same `model_dir`; 3: training diverged (a non-finite
loss or weight).
"""

import errno

import tensorflow as tf
from absl import app

from saccader_tf.model_dir.lock import ModelDirBusyError
from saccader_tf.training.nan_guard import NonFiniteLossError


def error_report(error, model_dir):
    """`(exit code, one-line message)` for `error`, or `None` when it is not a known user problem.

    Args:
        error: the exception that ended the run.
        model_dir: the run's `--model_dir` (named when a disk problem has no file name).
    """
    full = (isinstance(error, OSError) and error.errno == errno.ENOSPC) or (
        isinstance(error, tf.errors.OpError) and "No space left on device" in error.message
    )
    if isinstance(error, NonFiniteLossError):
        return 3, str(error)
    if full:
        where = getattr(error, "filename", None) or model_dir
        return 2, (
            f"no space left on the disk of {where}: free some space (saved progress is kept, so "
            "re-running the same command continues) or use a --model_dir on another disk."
        )
    if isinstance(error, (app.UsageError, ValueError, ModelDirBusyError, FileNotFoundError)):
        return 2, str(error)  # FileNotFoundError: MissingCheckpointError, a missing folder
    if isinstance(
        error, tf.errors.InvalidArgumentError
    ):  # bad data met while training or evaluating
        return 2, data_problem(error)
    if isinstance(error, OSError):
        return 2, (
            f"{error.strerror or error}: {error.filename or model_dir}. Check that path "
            "(permissions, a file where a directory is expected) or use another --model_dir."
        )
    return None


def data_problem(error):
    """The line of a TensorFlow error that names a bad file or label (the whole message
    otherwise)."""
    for line in error.message.splitlines():
        for marker in ("Cannot read image file", "Labels must lie in"):
            if marker in line:  # drop tf.data's "Error in user-defined function ...: [" around it
                return line[line.index(marker) :].strip().rstrip("]").strip()
    return error.message
