"""The error of a weights file that cannot be imported (unreadable, wrong hash, wrong variant)."""

from saccader_tf.utils.errors import BadValueError


class WeightsFileError(BadValueError):
    """A weights file (or state dict) cannot be imported; the message names the file and the fix.

    A `UserError`: the command line prints it as one line (exit code 2).
    """
