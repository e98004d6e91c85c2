"""`setting(...)`: a `RunSettings` field that is also a flag of the launcher.

A field's metadata holds the kind of its flag (`FLAG_KINDS`), its help text and, for an `enum`,
its choices; `saccader_tf.cli.flags` generates the launcher's flags from it.
"""

import dataclasses

FLAG_KINDS = ("string", "integer", "float", "boolean", "enum", "list", "integers", "per_stage")
"""How a setting is given on the command line: absl's flag types, plus `per_stage` (a list flag of
one value for every stage, three for stages 1-3 or four for stages 1-4)."""


def setting(default, flag, help, choices=None):
    """A `RunSettings` field that is also a flag of the launcher.

    Args:
        default: the setting's default (also the flag's).
        flag: one of `FLAG_KINDS`.
        help: the flag's help text.
        choices: the allowed values of an `enum` flag.
    """
    metadata = {"flag": flag, "help": help, "choices": tuple(choices) if choices else None}
    return dataclasses.field(default=default, metadata=metadata)
