"""`python -m saccader_tf.launch`: train the Saccader in its three stages from the command line
(and, with `--classifier`, a Saccader-ClassNet's classifier as stage 4).

    python -m saccader_tf.launch                      # all stages on offline cluttered MNIST
    python -m saccader_tf.launch --stage=1 --model_dir=runs/a
    python -m saccader_tf.launch --flagfile=launch/imagenet_bagnet77.cfg --stage=3

Each stage writes `model_dir/stageN/saccader.weights.h5`; stages 2 and 3 start from the previous
stage's checkpoint and stop with the command that creates it when it is missing. While a stage runs
its progress is saved every `--save_every_steps` steps; re-running a killed command continues from
the last save, and stages already finished in `model_dir` are skipped (`--retrain` trains them
again).

The flags are the fields of `RunSettings` (`saccader_tf.cli.flags`); `settings_from_flags` reads
them back, and `saccader_tf.run.orchestrator.launch` validates and runs them (docs/cli.md).
"""

import dataclasses
import logging as python_logging
import shlex
import signal
import sys

from absl import app, flags, logging

from saccader_tf.cli import flags as saccader_flags
from saccader_tf.cli.error_report import error_report
from saccader_tf.run import orchestrator as recipe
from saccader_tf.run.settings import RunSettings, flag_fields
from saccader_tf.run.settings_error import ARG, SettingsError
from saccader_tf.training.preemption import StageInterrupted

FLAGS = saccader_flags.FLAGS
flags.adopt_module_key_flags(saccader_flags)  # `--help` of this module lists them


def integers(values, name):
    """The whole numbers of an integer-list flag (`--attention_widths`), as a tuple."""
    try:
        return tuple(int(value) for value in values)
    except ValueError:
        raise SettingsError(
            f"--{name} takes whole numbers separated by commas. Received: "
            f"--{name}={','.join(values)}"
        ) from None


def per_stage(values, name, cast):
    """The numbers of a per-stage list flag (`--epochs`, `--learning_rate`): one value is given to
    stages 1, 2 and 3 (stage 4 takes stage 1's); three or four are kept (counts are checked by
    `RunSettings.validate`)."""
    try:
        numbers = tuple(cast(value) for value in values)
    except ValueError:
        raise SettingsError(
            f"{ARG}{name} takes numbers. Received: {ARG}{name}={','.join(values)}"
        ) from None
    return numbers * 3 if len(numbers) == 1 else numbers


def settings_from_flags():
    """The `RunSettings` of the parsed flags: every field declared as a flag takes the flag's
    value (lists as tuples, per-stage lists as numbers); `readout_given` / `eval_policies_given`
    say whether those flags were given; missing-checkpoint errors quote this command line."""
    values = {}
    for field in flag_fields():
        value = FLAGS[field.name].value
        if field.metadata["flag"] == "per_stage":
            value = per_stage(value, field.name, int if field.name == "epochs" else float)
        elif field.metadata["flag"] == "list":
            value = tuple(value)
        elif field.metadata["flag"] == "integers":
            value = integers(value, field.name)
        values[field.name] = value
    given = {
        field.name: FLAGS[field.metadata["given"]].present
        for field in dataclasses.fields(RunSettings)
        if "given" in field.metadata
    }
    present = frozenset(f.name for f in flag_fields() if not FLAGS[f.name].using_default_value)
    return RunSettings(**values, **given, flags_given=present, command_for=command_for)


def command_for(stage):
    """The command line of this run with `--stage` replaced (quoted in missing-checkpoint errors);
    `--skip_stage2` is left out of a command for stage 1 or 2, where it does not apply."""
    skip_flag = stage not in (3, "3") and stage != "all"

    def kept(arg):
        if arg.startswith("--stage=") or arg == "--stage":
            return False
        return not (skip_flag and arg.split("=")[0] in ("--skip_stage2", "--noskip_stage2"))

    args = [a for a in sys.argv[1:] if kept(a)]
    return shlex.join(["python", "-m", "saccader_tf.launch", f"--stage={stage}", *args])


def main(argv):
    """Reads the flags into `RunSettings` and launches `--stage`; a problem the user can fix ends
    in one line `error: ...` (exit code 2, or 3 for a diverged run), anything else re-raises."""
    if len(argv) > 1:
        stray = " ".join(shlex.quote(arg) for arg in argv[1:])
        print(
            f"error: unexpected argument(s) {stray}: every setting is a flag written "
            "--name=value (python -m saccader_tf.launch --help lists them).",
            file=sys.stderr,
        )
        sys.exit(2)
    # TensorFlow's INFO lines (collective all-reduce, SavedModel assets) would bury the progress.
    logging.set_verbosity(logging.WARNING)
    # TensorFlow's Python logger has its own handler besides absl's on the root logger, so each of
    # its warnings (e.g. tf.function retracing) would print twice; absl's handler prints them once.
    for handler in list(python_logging.getLogger("tensorflow").handlers):
        python_logging.getLogger("tensorflow").removeHandler(handler)
    signal.signal(signal.SIGTERM, _stop_outside_steps)  # training steps install their own handler
    try:
        recipe.launch(settings_from_flags(), FLAGS.stage)  # validates the settings first
    except StageInterrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_code)
    except KeyboardInterrupt:
        _stop_outside_steps(signal.SIGINT, None)
    except Exception as error:  # noqa: BLE001 (known problems end in one line; others re-raise)
        report = error_report(error, FLAGS.model_dir)
        if report is None:
            raise
        print(f"error: {report[1]}", file=sys.stderr)
        sys.exit(report[0])


def _stop_outside_steps(number, frame):
    """SIGTERM or Ctrl-C while no training step runs (reading data, evaluating, exporting): one
    line and the signal's exit code; what was saved stays, so the same command continues."""
    print(
        f"\nstopped by {signal.Signals(number).name}: what was saved is kept (stage files and "
        "progress saves); run the same command again to continue.",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(128 + number)


def run():
    """The entry point of `python -m saccader_tf.launch` (absl parses the flags, then `main`).

    `--help` describes the main module's key flags: every flag of `saccader_tf.cli.flags` is made
    one (the main module is the `python -m` shim, which defines none)."""
    for flag in FLAGS.get_flags_for_module(saccader_flags):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main)
