"""The launcher's flags in process: the `RunSettings` they give and the problem they are refused
with, as the command line words it (`--flag`)."""

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
