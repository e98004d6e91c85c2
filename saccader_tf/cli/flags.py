"""Command-line flags of `python -m saccader_tf.launch`, generated from `RunSettings`.

Every field of `saccader_tf.run.settings.RunSettings` declared with `setting(...)` becomes the flag
of the same name, with the field's default, help text and flag kind (`RunSettings` is the only
place a setting is declared). `--stage`, which is not a setting but what to do with them, is
declared here. Presets live in `launch/*.cfg` and are used with `--flagfile`.
"""

from absl import flags

from saccader_tf.run.settings import flag_fields
from saccader_tf.run.validate import STAGES

flags.DEFINE_enum(
    "stage",
    "all",
    STAGES,
    "What to run: 1 (representation), 2 (location "
    "pretraining), 3 (policy gradient), 4 (a Saccader-ClassNet's classifier, "
    "trained on the frozen stage-3 Saccader's glimpses; needs --classifier), all "
    "(1→2→3, and 4 with --classifier; then a policy comparison and an export), "
    "eval (the full evaluation table and pictures of a trained --model_dir), export "
    "(a SavedModel under --model_dir/export) or predict (the trained model on --images, "
    "results in --output).",
)


def per_stage_default(values):
    """The `--epochs` / `--learning_rate` default of a per-stage setting's default `values`: one
    value when every stage has the same, else one per stage."""
    values = [str(value) for value in values]
    return values[:1] if len(set(values)) == 1 else values


def define_flag(field, flag_values=flags.FLAGS):
    """Defines the flag of the `RunSettings` field `field` (by its `metadata["flag"]` kind)."""
    kind, help_text = field.metadata["flag"], field.metadata["help"]
    name, default = field.name, field.default
    if kind == "enum":
        flags.DEFINE_enum(
            name, default, list(field.metadata["choices"]), help_text, flag_values=flag_values
        )
    elif kind in ("list", "integers"):
        flags.DEFINE_list(name, [str(v) for v in default], help_text, flag_values=flag_values)
    elif kind == "per_stage":
        flags.DEFINE_list(name, per_stage_default(default), help_text, flag_values=flag_values)
    else:
        define = {
            "string": flags.DEFINE_string,
            "integer": flags.DEFINE_integer,
            "float": flags.DEFINE_float,
            "boolean": flags.DEFINE_boolean,
        }[kind]
        define(name, default, help_text, flag_values=flag_values)


for _field in flag_fields():
    define_flag(_field)

FLAGS = flags.FLAGS
