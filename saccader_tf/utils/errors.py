"""The project's errors for problems the user can fix: a setting, a file, the data, the machine.

`UserError` is the base of every error this library raises on purpose for input a user gave. The
command line prints such an error as one line `error: <message>` with exit code 2
(`saccader_tf.cli.error_report`); every other exception is taken for a bug and keeps its
traceback. Its message names the problem and the fix.

The subclasses are also the built-in error they replace, so code catching `ValueError` or
`FileNotFoundError` keeps working.
"""


class UserError(Exception):
    """A problem with the user's input, explained by its message (the problem and the fix)."""


class BadValueError(UserError, ValueError):
    """A value the user gave (a setting, a dataset, the contents of a file) cannot work."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or that an earlier step should have written) is missing."""
