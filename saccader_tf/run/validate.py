"""`RunSettings.validate(stage)`: settings that cannot work are refused before any work starts.

The same checks serve the command line and Python callers: each raises `SettingsError` naming the
settings by field name and the fix (the launcher words them as its flags, `--batch_size`). A check
reads only the settings and the stage to be run (`STAGES`), plus the file system for `model_dir`
and `classifier_weights`; the models' own limits (grid sizes, variant names) come from the models.
"""

import dataclasses
import math
import os
import typing

from saccader_tf.models.bagnet import receptive_field
from saccader_tf.models.bagnet.bagnet import variant_conv_stack
from saccader_tf.models.bagnet.variants import VARIANTS
from saccader_tf.models.dram.dram import DRAM_VARIANTS
from saccader_tf.models.saccader.policies import POLICIES
from saccader_tf.run.architecture_checks import check_attention_widths
from saccader_tf.run.model_dir_checks import check_model_dir
from saccader_tf.run.predict_checks import PREDICT_STAGE, check_predict
from saccader_tf.run.pretrained_checks import IMAGENET, check_pretrained
from saccader_tf.run.service_checks import check_data_service
from saccader_tf.run.settings_error import ARG, SettingsError

STAGES = ("1", "2", "3", "4", "all", "eval", "export", PREDICT_STAGE)
"""What a run can do (`launch(settings, stage)`, the `--stage` flag): one training stage, all of
them, the evaluation of a trained model_dir, its export, or its predictions on image files."""

FLOAT32_TINY = 1.1754944e-38
"""The smallest positive normal float32: a smaller learning rate is 0 or denormal in training."""

MAX_SEED = 2**31 - 1

_TYPES = {
    "string": ((str,), "a string"),
    "integer": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "boolean": ((bool,), "True or False"),
}


def validate_settings(settings, stage):
    """Raises `SettingsError` for the first problem of `settings` run as `stage` (a str of
    `STAGES`), in the order: types, counts, models, data."""
    if stage not in STAGES:
        raise SettingsError(
            f"{ARG}stage must be one of {', '.join(STAGES)}. Received: {ARG}stage={stage}"
        )
    check_types(settings)
    check_model(settings, stage)
    check_attention_widths(settings)
    check_policies(settings)
    check_classifier(settings, stage)
    check_switches(settings, stage)
    check_cell_counts(settings)
    check_ranges(settings)
    check_data(settings)
    check_data_service(settings, stage)
    check_predict(settings, stage)
    check_pretrained(settings, stage)


def _fields(settings):
    return [field for field in dataclasses.fields(settings) if "flag" in field.metadata]


def check_types(settings):
    """Every setting has the type of its flag (Python callers can pass anything), `per_stage`
    settings hold 1, 3 or 4 numbers and list settings strings."""
    for field in _fields(settings):
        kind, value, name = field.metadata["flag"], getattr(settings, field.name), field.name
        if value is None and type(None) in typing.get_args(field.type):
            continue  # unset (an Optional setting): the documented default applies
        if kind == "per_stage":
            check_per_stage(name, value, int if name == "epochs" else float)
        elif kind == "integers":
            if not isinstance(value, (tuple, list)) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                raise SettingsError(
                    f"{ARG}{name} must be a tuple of whole numbers. Received: {ARG}{name}={value!r}"
                )
        elif kind == "list":
            if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
                raise SettingsError(
                    f"{ARG}{name} must be a tuple of names. Received: {ARG}{name}={value!r}"
                )
        elif kind == "enum":
            if value not in field.metadata["choices"]:
                choices = ", ".join(field.metadata["choices"])
                raise SettingsError(
                    f"{ARG}{name} must be one of {choices}. Received: {ARG}{name}={value!r}"
                )
        else:
            types, what = _TYPES[kind]
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                raise SettingsError(f"{ARG}{name} must be {what}. Received: {ARG}{name}={value!r}")
            if kind == "float" and not math.isfinite(value):
                raise SettingsError(
                    f"{ARG}{name} must be a finite number. Received: {ARG}{name}={value!r}"
                )


def check_per_stage(name, values, cast):
    """`values` (of `epochs` or `learning_rate`) holds one value, three or four, each a number."""
    numbers = (int,) if cast is int else (int, float)
    if not isinstance(values, (tuple, list)) or not all(
        isinstance(v, numbers) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise SettingsError(
            f"{ARG}{name} takes numbers, each finite. Received: {ARG}{name}={_joined(values)}"
        )
    if len(values) not in (1, 3, 4):
        raise SettingsError(
            f"{ARG}{name} takes one value, three (stages 1, 2, 3) or four (stages "
            f"1-4; stage 4 with {ARG}classifier). Received: {ARG}{name}={_joined(values)}"
        )


def _joined(values):
    return ",".join(str(v) for v in values)


def check_model(settings, stage):
    """A known BagNet variant, positive sizes and counts; DRAM: a known variant whose glimpse
    fits the image, and its one training stage."""
    if settings.model not in VARIANTS:
        raise SettingsError(
            f"{ARG}model must be one of {sorted(VARIANTS)}. Received: {ARG}model={settings.model}"
        )
    for name in ("batch_size", "num_glimpses", "num_targets", "image_size"):
        if getattr(settings, name) < 1:
            raise SettingsError(
                f"{ARG}{name} must be >= 1. Received: {ARG}{name}={getattr(settings, name)}"
            )
    if settings.architecture != "dram":
        return
    if settings.dram_model not in DRAM_VARIANTS:
        raise SettingsError(
            f"{ARG}dram_model must be one of {sorted(DRAM_VARIANTS)}. "
            f"Received: {ARG}dram_model={settings.dram_model}"
        )
    glimpse = DRAM_VARIANTS[settings.dram_model]["glimpse_size"]
    if settings.image_size < glimpse:
        raise SettingsError(
            f"{ARG}image_size={settings.image_size} is smaller than the {glimpse} px glimpses "
            f"of {settings.dram_model}: use {ARG}image_size>={glimpse} or another {ARG}dram_model."
        )
    if stage in ("1", "2"):
        raise SettingsError(
            f"{ARG}architecture=dram has one training stage: use {ARG}stage=all (train, compare "
            f"policies, export), 3 (train only), eval or export. Received: {ARG}stage={stage}"
        )


def check_policies(settings):
    """`eval_policies` names Saccader policies; `readout="soft"` is a Saccader option."""
    unknown = [name for name in settings.eval_policies if name not in POLICIES]
    if unknown or not settings.eval_policies:
        raise SettingsError(
            f"{ARG}eval_policies takes names from {', '.join(POLICIES)}. "
            f"Received: {ARG}eval_policies={','.join(settings.eval_policies)}"
        )
    if settings.architecture == "dram" and settings.readout != "hard":
        raise SettingsError(
            f"{ARG}readout applies to the Saccader; DRAM classifies its glimpses with its own "
            f"network. Received: {ARG}readout={settings.readout} {ARG}architecture=dram"
        )


def check_classifier(settings, stage):
    """Stage 4 and the ClassNet settings need a `classifier`, and a size the data has."""
    if settings.classifier == "none":
        given = [
            f"{ARG}{name}"
            for name in ("classifier_image_size", "classifier_weights")
            if getattr(settings, name) is not None
        ]
        if stage == "4" or given:
            what = f"{ARG}stage=4 trains" if stage == "4" else f"{', '.join(given)} configure"
            raise SettingsError(
                f"{what} a Saccader-ClassNet's classifier: choose one with "
                f"{ARG}classifier=small_cnn|resnet50_v2|nasnet_large."
            )
        return
    if settings.architecture == "dram":
        raise SettingsError(
            f"{ARG}classifier builds a Saccader-ClassNet around the Saccader; DRAM classifies "
            f"its glimpses itself. Drop {ARG}classifier or use {ARG}architecture=saccader."
        )
    check_classifier_files(settings)


def check_classifier_files(settings):
    """`classifier_image_size` the data can have; `classifier_weights` a local file."""
    size = settings.classifier_image_size
    if size is not None and size < 1:
        raise SettingsError(
            f"{ARG}classifier_image_size must be >= 1 (or leave it unset). "
            f"Received: {ARG}classifier_image_size={size}"
        )
    if settings.dataset == "cluttered_mnist" and size not in (None, settings.image_size):
        raise SettingsError(
            f"The built-in cluttered_mnist is generated at one size ({ARG}image_size), so "
            f"{ARG}classifier_image_size must equal it or stay unset. Received: "
            f"{ARG}classifier_image_size={size} {ARG}image_size={settings.image_size}"
        )
    weights = settings.classifier_weights
    if weights not in (None, IMAGENET) and not os.path.isfile(weights):
        raise SettingsError(
            f"{ARG}classifier_weights must name an existing local weights file (or be "
            f"imagenet). Received: {ARG}classifier_weights={weights}"
        )


def is_tfds(dataset):
    """A TFDS dataset name (neither the built-in cluttered_mnist nor an image folder)."""
    return dataset != "cluttered_mnist" and not dataset.startswith(("folder:", "tfrecord:"))


def check_switches(settings, stage):
    """The reproduction switches: values that work, and only where they apply."""
    decay = settings.location_weight_decay
    if decay is not None and not 0 <= decay < math.inf:
        raise SettingsError(
            f"{ARG}location_weight_decay must be >= 0 (or leave it unset: "
            f"{ARG}weight_decay). Received: {ARG}location_weight_decay={decay}"
        )
    if settings.background_class and not is_tfds(settings.dataset):
        raise SettingsError(
            f"{ARG}background_class applies to TFDS datasets (e.g. {ARG}dataset=imagenet2012 "
            f"for the paper's 1001 classes). Drop it or choose a TFDS dataset. "
            f"Received: {ARG}dataset={settings.dataset}"
        )
    dram = settings.architecture == "dram"
    if settings.skip_stage2 and (dram or stage not in ("all", "3")):
        raise SettingsError(
            f"{ARG}skip_stage2 applies to the Saccader's {ARG}stage=all (stages 1 and 3) and "
            f"{ARG}stage=3 (restoring stage 1). Received: "
            f"{ARG}stage={stage} {ARG}architecture={settings.architecture}"
        )
    check_warmup(settings, stage)


def trained_stages(settings, stage):
    """The training stages `stage` runs (none for eval and export; DRAM's one stage takes the
    first per-stage values, as stage 1)."""
    if settings.architecture == "dram":
        return [1] if stage in ("all", "3") else []
    if stage == "all":
        return settings.stages
    return [int(stage)] if stage.isdigit() else []


def check_warmup(settings, stage):
    """`warmup_epochs` >= 0 and below the epochs of every stage trained (it would take the whole
    stage)."""
    warmup = settings.warmup_epochs
    if not 0 <= warmup < math.inf:
        raise SettingsError(
            f"{ARG}warmup_epochs must be >= 0. Received: {ARG}warmup_epochs={warmup}"
        )
    epochs = [settings.of_stage(settings.epochs, s) for s in trained_stages(settings, stage)]
    if warmup and epochs and warmup >= min(epochs):
        raise SettingsError(
            f"{ARG}warmup_epochs must be below the epochs of every stage trained "
            f"(the shortest has {min(epochs)}): the warm-up would take the whole "
            f"stage. Received: {ARG}warmup_epochs={warmup}"
        )


def check_cell_counts(settings):
    """The models' own limits: the grid of `model` at `image_size` is not empty and holds
    `num_glimpses` and `num_targets` distinct cells (a Saccader's BagNet; DRAM has no grid)."""
    if settings.architecture == "dram":
        return  # `model` is not used; `check_model` checks DRAM's glimpse against the image
    where = dict(model=settings.model, prefix=ARG)
    try:
        stack = variant_conv_stack(settings.model)
        grid = receptive_field.grid_side(settings.image_size, stack, **where)
        for name in ("num_glimpses", "num_targets"):
            receptive_field.check_cell_count(
                name, getattr(settings, name), grid, image_size=settings.image_size, **where
            )
    except ValueError as error:
        raise SettingsError(str(error)) from None


def check_ranges(settings):
    """Values that cannot work (a negative count, an empty path, ...), named with the fix."""
    at_least = {
        "steps": 1,
        "eval_steps": 1,
        "validation_steps": 1,
        "train_examples": 1,
        "test_examples": 1,
        "seed": 0,
        "num_clutter": 0,
    }
    at_least.update(log_every_steps=0)
    defaults = {field.name: field.default for field in _fields(settings)}
    for name, minimum in at_least.items():
        value = getattr(settings, name)
        if value is not None and value < minimum:
            unset = " (or leave it unset)" if defaults[name] is None else ""
            raise SettingsError(
                f"{ARG}{name} must be >= {minimum}{unset}. Received: {ARG}{name}={value}"
            )
    if min(settings.epochs) < 1:
        raise SettingsError(
            f"{ARG}epochs must be >= 1 for every stage (a stage of 0 epochs would leave an "
            f"untrained checkpoint). Received: {ARG}epochs={_joined(settings.epochs)}"
        )
    if not all(FLOAT32_TINY <= rate < math.inf for rate in settings.learning_rate):
        raise SettingsError(
            f"{ARG}learning_rate must be positive and finite for every stage (<= 0 would not "
            f"train, or climb the loss; below {FLOAT32_TINY:.4g} it is 0 or denormal in float32). "
            f"Received: {ARG}learning_rate={_joined(settings.learning_rate)}"
        )
    if settings.weight_decay < 0:
        raise SettingsError(
            f"{ARG}weight_decay must be >= 0. Received: {ARG}weight_decay={settings.weight_decay}"
        )
    if settings.seed > MAX_SEED:
        raise SettingsError(
            f"{ARG}seed must be at most {MAX_SEED} (2**31 - 1, the largest seed every random "
            f"generator takes). Received: {ARG}seed={settings.seed}"
        )
    if not settings.full_image_loss_weight >= 0:
        raise SettingsError(
            f"{ARG}full_image_loss_weight must be >= 0. "
            f"Received: {ARG}full_image_loss_weight={settings.full_image_loss_weight}"
        )
    if settings.save_every_steps < 0:
        raise SettingsError(
            f"{ARG}save_every_steps must be >= 0. "
            f"Received: {ARG}save_every_steps={settings.save_every_steps}"
        )
    if settings.devices and settings.strategy != "mirrored":
        raise SettingsError(f"{ARG}devices needs {ARG}strategy=mirrored.")
    if settings.cluster_resolver != "tf_config" and settings.strategy != "multi_worker":
        raise SettingsError(f"{ARG}cluster_resolver needs {ARG}strategy=multi_worker.")
    if not 0 < settings.cluster_port < 65536:
        raise SettingsError(
            f"{ARG}cluster_port must be a TCP port (1-65535). "
            f"Received: {ARG}cluster_port={settings.cluster_port}"
        )
    check_model_dir(settings.model_dir)


def check_data(settings):
    """Data settings that do not apply to the chosen dataset are refused, not ignored."""
    dataset = settings.dataset
    folder, builtin = dataset.startswith("folder:"), dataset == "cluttered_mnist"
    given = [
        f"{ARG}{name}"
        for name, default in (("augment", None), ("flip", None), ("channels", "auto"))
        if getattr(settings, name) != default
    ]
    if builtin and given:
        raise SettingsError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to image folders "
            "and TFDS datasets; the built-in cluttered_mnist is used as generated (one channel, "
            f"no augmentation). Drop the flag(s) or choose another {ARG}dataset."
        )
    if not folder and settings.cache != "auto":
        raise SettingsError(
            f"{ARG}cache applies to image folders ({ARG}dataset=folder:PATH). "
            f"Received: {ARG}cache={settings.cache}"
        )
    if settings.cache_budget_mb < 0:
        raise SettingsError(
            f"{ARG}cache_budget_mb must be >= 0. "
            f"Received: {ARG}cache_budget_mb={settings.cache_budget_mb}"
        )
    # TFRecord shards: --skip_bad_files applies, --label_offset only there.
    tfrecord = dataset.startswith("tfrecord:")
    if settings.skip_bad_files and not (folder or tfrecord):
        raise SettingsError(skip_bad_files_refusal(dataset))
    if (settings.label_offset != 0 and not tfrecord) or settings.label_offset < 0:
        raise SettingsError(
            f"{ARG}label_offset applies to TFRecord shards ({ARG}dataset=tfrecord:PATH) and must "
            f"be >= 0. Received: {ARG}label_offset={settings.label_offset}"
        )


def skip_bad_files_refusal(dataset):
    """Why `skip_bad_files` cannot apply to `dataset` (not an image folder)."""
    if dataset == "cluttered_mnist":
        why = "cluttered_mnist is generated and has no files."
    else:
        why = (
            f"TFDS decodes the images of {ARG}dataset={dataset} itself, inside its own "
            "pipeline, so this library cannot skip a bad image there. Drop "
            f"{ARG}skip_bad_files, or convert the dataset to an image folder."
        )
    return f"{ARG}skip_bad_files applies to image folders ({ARG}dataset=folder:PATH); {why}"
