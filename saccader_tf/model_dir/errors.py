"""The two errors of a model_dir: a file a step needs is missing, or it exists but is unusable."""

from saccader_tf.utils.errors import UserError


class MissingCheckpointError(UserError, FileNotFoundError):
    """A stage, the evaluation or the export needs a file of model_dir that does not exist (the
    message names it and the command that writes it)."""


class CorruptCheckpointError(UserError, ValueError):
    """A checkpoint or record file exists but cannot be used (truncated, garbled, non-finite)."""
