"""The command line of the small tools (`python -m saccader_tf.convert`, `... .data_service`):
`--help`, absl parsing of their own flags and one-line usage errors, the same for every tool."""

import sys

from absl import flags

HELP_ARGUMENTS = ("-h", "--help", "-help", "--helpfull")


class UsageError(Exception):
    """A tool's flags cannot work; shown as one `error: ...` line with exit code 2."""


def parse_tool_args(values, argv, usage, check):
    """Parses `argv` into the tool's `flags.FlagValues` `values` and checks them.

    Args:
        values: the tool's own `flags.FlagValues`.
        argv: the command line, program name first.
        usage: the one-line usage text, shown with `--help` and in usage errors.
        check: `check(values)`, raising `UsageError` for flags that cannot work.

    Returns:
        `None` when the flags are parsed and checked; otherwise the exit code: 0 after printing
        the help, 2 after printing a one-line `error: ...` to stderr.
    """
    if any(arg in HELP_ARGUMENTS for arg in argv[1:]):
        print(f"usage: {usage}\n\n{values.get_help()}")
        return 0
    try:
        rest = values(argv)
        if len(rest) > 1:
            raise UsageError(f"unexpected arguments {rest[1:]}: usage: {usage}")
        check(values)
    except (flags.Error, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return None
