"""`python -m saccader_tf.convert`: other projects' weights as Keras weight files
(docs/pretrained.md).

    python -m saccader_tf.convert --format=bagnet_pytorch --variant=bagnet33 \\
        --input=bagnet32-2ddd53ed.pth.tar --output=bagnet33.weights.h5

writes `bagnet33.weights.h5` (Keras' `save_weights`) and beside it `bagnet33.json`: the model's
config (`BagNet.from_config`) and the preprocessing the weights need. The input is a `torch.save`
file (`.pth`, `.pth.tar`; read without torch), a `.npz` or a `.safetensors` state dict. A problem
with the input is one line `error: ...` with exit code 2; the output appears only when complete.

The flags live in their own `FlagValues`, so that they never meet the launcher's.
"""

import json
import math
import os
import sys

from absl import flags

from saccader_tf.cli.error_report import error_report
from saccader_tf.cli.tool_args import UsageError, parse_tool_args

FORMATS = ("bagnet_pytorch",)
VARIANTS = ("bagnet9", "bagnet17", "bagnet33")
WEIGHTS_ENDING = ".weights.h5"
USAGE = (
    "python -m saccader_tf.convert --format=bagnet_pytorch --variant=bagnet33 "
    "--input=FILE.pth.tar --output=FILE.weights.h5"
)


class ConvertUsageError(UsageError):
    """Flags that cannot work (reported as one line, exit code 2)."""


def make_flags():
    """A fresh `FlagValues` with the converter's flags."""
    values = flags.FlagValues()
    flags.DEFINE_enum(
        "format", "bagnet_pytorch", FORMATS, "What the input holds.", flag_values=values
    )
    flags.DEFINE_enum(
        "variant",
        "bagnet33",
        VARIANTS,
        "Our BagNet variant (the published bagnet8, bagnet16, bagnet32 files are our bagnet9, "
        "bagnet17, bagnet33).",
        flag_values=values,
    )
    flags.DEFINE_string(
        "input", None, "The weights: .pth / .pth.tar, .npz or .safetensors.", flag_values=values
    )
    flags.DEFINE_string(
        "output", None, f"The Keras weights file to write (ends in {WEIGHTS_ENDING}).", values
    )
    flags.DEFINE_boolean(
        "check_hash",
        True,
        "Check that a file with a published name (bagnet8-34f4ccd2.pth.tar, ...) has the SHA-256 "
        "its name starts.",
        flag_values=values,
    )
    return values


def config_path(output):
    """The JSON file written beside `output`: `X.weights.h5` → `X.json`."""
    return output[: -len(WEIGHTS_ENDING)] + ".json"


def convert(fmt, variant, input_path, output, check_hash=True):
    """Converts `input_path` to the Keras weights file `output` and its JSON config beside it.

    Returns:
        The model (a `BagNet`) and the preprocessing record written.
    """
    if fmt not in FORMATS:
        raise ConvertUsageError(f"--format must be one of {FORMATS}. Received: --format={fmt}")
    from saccader_tf.models.bagnet.pretrained import pretrained_bagnet

    model, preprocessing = pretrained_bagnet(input_path, variant, check_hash=check_hash)
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    partial = os.path.join(folder, f".partial-{os.getpid()}-{os.path.basename(output)}")
    try:
        model.save_weights(partial)
        with open(partial + ".json", "w") as f:
            json.dump({"model": model.get_config(), "preprocessing": preprocessing}, f, indent=2)
        os.replace(partial, output)
        os.replace(partial + ".json", config_path(output))
    finally:
        for leftover in (partial, partial + ".json"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return model, preprocessing


def _checked(values):
    """Raises `ConvertUsageError` for flags that cannot work."""
    for name in ("input", "output"):
        if not values[name].value:
            raise ConvertUsageError(f"--{name} is needed: usage: {USAGE}")
    if not values.output.endswith(WEIGHTS_ENDING):
        raise ConvertUsageError(
            f"--output must end in {WEIGHTS_ENDING} (Keras' weights format). "
            f"Received: --output={values.output}"
        )


def main(argv=None):
    """Parses `argv` (default `sys.argv`), converts, prints what was written; the exit code."""
    argv = sys.argv if argv is None else argv
    values = make_flags()
    code = parse_tool_args(values, argv, USAGE, _checked)
    if code is not None:
        return code
    try:
        model, record = convert(
            values.format, values.variant, values.input, values.output, values.check_hash
        )
    except ConvertUsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 (known problems end in one line; others re-raise)
        report = error_report(error, os.path.dirname(values.output or ".") or ".")
        if report is None:
            raise
        print(f"error: {report[1]}", file=sys.stderr)
        return report[0]
    trainable = sum(math.prod(weight.shape) for weight in model.trainable_weights)
    print(
        f"wrote {values.output} ({values.variant}, {model.num_classes} classes, "
        f"{trainable:,} trainable weights) and {config_path(values.output)}; the inputs must be "
        f"{record['color']} images as (x / 255 - mean) / std with mean={record['mean']} and "
        f"std={record['std']}."
    )
    return 0


def run():
    """The entry point of `python -m saccader_tf.convert`."""
    sys.exit(main())
