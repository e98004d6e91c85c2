"""`SettingsError`: a `RunSettings` that cannot work, worded for Python or for the command line.

A message names settings by their field name; the command line words the same message with its
flags (`--batch_size`). The message is written once, as a template in which `ARG` stands before
every setting's name: `str(error)` drops it (`batch_size must be >= 1. Received: batch_size=0`),
`error.worded("--")` makes it a flag (`--batch_size must be >= 1. Received: --batch_size=0`).
"""

from saccader_tf.utils.errors import BadValueError

ARG = "\x1f"
"""Put before a setting's name in a `SettingsError` template (an ASCII control character, so it
never occurs in a value the user typed)."""


class SettingsError(BadValueError):
    """A setting (or a combination of settings) that cannot work; the message says what to change.

    Args:
        template: the message, with `ARG` before every setting's name.
    """

    def __init__(self, template):
        self.template = template
        super().__init__(self.worded(""))

    def worded(self, prefix):
        """The message with every setting named as `prefix + name` (`"--"` for the flags)."""
        return self.template.replace(ARG, prefix)
