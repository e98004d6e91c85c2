"""Where each training stage keeps its weights, and restoring them with clear errors.

Layout under `model_dir`:

    model_dir/model_config.json          the Saccader's `get_config()` (one model per model_dir)
    model_dir/preprocessing.json         how raw images become model inputs (for export)
    model_dir/stage1/saccader.weights.h5 after stage 1 (representation trained), with its SHA-256
                                         in saccader.weights.h5.sha256 (checked on load)
    model_dir/stage2/saccader.weights.h5 after stage 2 (+ location network)
    model_dir/stage3/saccader.weights.h5 after stage 3 (the final Saccader)
    model_dir/classnet_config.json       a Saccader-ClassNet's `get_config()`, written when its
                                         stage 4 starts: model_dir then holds a ClassNet
    model_dir/stage4/saccader.weights.h5 after stage 4: the whole ClassNet (its Saccader as stage 3
                                         left it + the trained classifier; the final model)
    model_dir/stageN/progress/           while stage N runs: its resumable progress (deleted at
                                         the end; see `saccader_tf.model_dir.progress`)
    model_dir/logs/stageN/               TensorBoard logs
"""

import hashlib
import json
import os

import keras
import tensorflow as tf

from saccader_tf.model_dir.model_config import model_from_config
from saccader_tf.training.nan_guard import non_finite_variables

CONFIG_FILE = "model_config.json"
PREPROCESSING_FILE = "preprocessing.json"
WEIGHTS_FILE = "saccader.weights.h5"
CLASSNET_CONFIG_FILE = "classnet_config.json"
# Config keys that must agree for weights to be reusable (the rest, e.g. the seed, may differ).
_ARCHITECTURE_KEYS = (
    "num_classes",
    "image_size",
    "variant",
    "input_channels",
    "attention_widths",
    "mixing_width",
    "attention",
    "bagnet_attention",
    "bagnet_kwargs",
)
# The same for a Saccader-ClassNet's own settings (its Saccader's are in CONFIG_FILE).
_CLASSNET_KEYS = (
    "classifier",
    "classifier_image_size",
    "glimpse_input_size",
    "small_cnn_widths",
    "interpolation",
)


class MissingCheckpointError(FileNotFoundError):
    """A stage needs the checkpoint of the stage before it, and it does not exist."""


class CorruptCheckpointError(ValueError):
    """A checkpoint or record file exists but cannot be used (truncated, garbled, non-finite)."""


def stage_weights_path(model_dir, stage):
    """Path of the weights file written at the end of `stage` (1, 2 or 3)."""
    return os.path.join(model_dir, f"stage{stage}", WEIGHTS_FILE)


def progress_dir(model_dir, stage):
    """Directory of the resumable progress of `stage` while it runs."""
    return os.path.join(model_dir, f"stage{stage}", "progress")


def stage_finished(model_dir, stage):
    """Whether `stage` ran to its end in `model_dir`: its checkpoint exists and no progress is
    pending."""
    return os.path.exists(stage_weights_path(model_dir, stage)) and not os.path.exists(
        progress_dir(model_dir, stage)
    )


def save_stage(saccader, model_dir, stage):
    """Saves the whole Saccader's weights as the checkpoint of `stage`; returns the path.

    Written to a temporary file first and renamed, so an interrupted save never leaves a
    truncated checkpoint behind.
    """
    path = stage_weights_path(model_dir, stage)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path[: -len(".weights.h5")] + ".partial.weights.h5"
    saccader.save_weights(partial)
    digest = _sha256(partial)
    os.replace(partial, path)
    with open(path + ".sha256.partial", "w") as f:
        f.write(digest + "\n")
    os.replace(path + ".sha256.partial", path + ".sha256")
    return path


def load_stage_weights(saccader, path, fix):
    """Loads the stage checkpoint `path` into `saccader`, checking it first and after.

    The file must match the SHA-256 written beside it (when there is one), load, and give finite
    weights only.

    Args:
        saccader: a built Saccader of the same architecture.
        path: a file written by `save_stage`.
        fix: what to do about a bad file (quoted in the error).

    Raises:
        CorruptCheckpointError: naming `path`, what is wrong and `fix`.
    """

    def corrupt(problem):
        return CorruptCheckpointError(f"{path} {problem}: {fix}. Received: path={path}")

    if os.path.exists(path + ".sha256"):
        with open(path + ".sha256") as f:
            expected = f.read().strip()
        if expected != _sha256(path):
            raise corrupt("is damaged (its contents differ from the SHA-256 written with it)")
    try:
        saccader.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise corrupt(f"cannot be read ({reason})") from None
    bad = non_finite_variables(saccader.variables)
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise corrupt(f"holds non-finite weights ({bad[0]}{more})")


def restore_stage(saccader, model_dir, stage, make_command):
    """Loads the checkpoint of `stage` into `saccader`.

    Args:
        saccader: a built Saccader of the same architecture.
        model_dir: the run's directory.
        stage: the stage whose checkpoint is needed.
        make_command: the shell command that creates it (quoted in the error).

    Raises:
        MissingCheckpointError: naming the missing path and the command that creates it.
        CorruptCheckpointError: the file is damaged, naming it and that command.
    """
    path = stage_weights_path(model_dir, stage)
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"Stage {stage + 1} needs the stage-{stage} checkpoint {path}, which does not exist. "
            f"Create it first with:\n    {make_command}"
        )
    load_stage_weights(saccader, path, f"train stage {stage} again with `{make_command} --retrain`")
    return path


def load_trained_saccader(model_dir):
    """Rebuilds the Saccader (or DRAM) recorded in `model_dir` with its final (stage-3) weights.

    Args:
        model_dir: a run's directory (`model_config.json` + `stage3/saccader.weights.h5`).

    Returns:
        A built `Saccader` with the stage-3 weights.

    Raises:
        MissingCheckpointError: when the config or the stage-3 checkpoint does not exist.
        CorruptCheckpointError: when one of them is damaged.
    """
    config = load_model_config(model_dir)
    path = stage_weights_path(model_dir, 3)
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"Export needs the final (stage-3) checkpoint {path}, which does not exist. Run all "
            f"three training stages with --model_dir={model_dir} first (stage 3 writes it)."
        )
    saccader = model_from_config(config)  # a Saccader, or a DRAM (issue 13)
    # Called once in inference mode: a custom `train_step` can leave a model unbuilt.
    size, channels = saccader.image_size, saccader.input_channels
    saccader(tf.zeros([1, size, size, channels], tf.float32), training=False)
    load_stage_weights(
        saccader,
        path,
        f"train stage 3 again (`python -m saccader_tf.launch --stage=3 --retrain "
        f"--model_dir={model_dir}` with the flags of that run)",
    )
    return saccader


def check_model_config(model_dir, config, *, file=CONFIG_FILE, keys=_ARCHITECTURE_KEYS):
    """Records `config` in `model_dir/file`, or checks its `keys` against the one recorded there.

    Raises:
        ValueError: when `model_dir` holds a model of another architecture, naming the
            differing settings and the fix.
    """
    path = os.path.join(model_dir, file)
    config = config_record(config)
    if os.path.exists(path):
        recorded = read_json_record(
            path, "delete it to record the current flags' model there, or use a new --model_dir"
        )
        differences = {
            key: (recorded.get(key), config.get(key))
            for key in keys
            if recorded.get(key) != config.get(key)
        }
        if differences:
            details = ", ".join(
                f"{k}: {old!r} there vs {new!r} now" for k, (old, new) in differences.items()
            )
            raise ValueError(
                f"{model_dir} holds checkpoints of another model ({details}). Use the same flags "
                f"as that run, or a new --model_dir. Received: model_dir={model_dir}"
            )
        return
    os.makedirs(model_dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def check_classnet_config(model_dir, config):
    """Records a Saccader-ClassNet's `config` in `model_dir/classnet_config.json` (model_dir then
    holds a ClassNet: `load_trained_model` loads it), or checks it against the one recorded there.

    Raises:
        ValueError: when `model_dir` holds another ClassNet (another classifier, sizes, ...).
    """
    check_model_config(model_dir, config, file=CLASSNET_CONFIG_FILE, keys=_CLASSNET_KEYS)


def load_classnet_config(model_dir):
    """The Saccader-ClassNet config recorded in `model_dir`, or `None` when it holds none."""
    path = os.path.join(model_dir, CLASSNET_CONFIG_FILE)
    if not os.path.exists(path):
        return None
    return read_json_record(
        path,
        "delete it (and model_dir/stage4) to use the Saccader alone, or "
        "train stage 4 again in a new --model_dir",
    )


def load_trained_model(model_dir):
    """The final model of `model_dir`: its Saccader-ClassNet with the stage-4 weights when it
    records one (`classnet_config.json`), else `load_trained_saccader(model_dir)`.

    Raises:
        MissingCheckpointError: the ClassNet's stage-4 checkpoint (or, for a Saccader, the config
            or the stage-3 checkpoint) does not exist; the message names the command that trains it.
        CorruptCheckpointError: a file is damaged.
    """
    config = load_classnet_config(model_dir)
    if config is None:
        return load_trained_saccader(model_dir)
    path = stage_weights_path(model_dir, 4)
    classifier = config.get("classifier")
    flag = f" --classifier={classifier}" if isinstance(classifier, str) else ""
    command = f"python -m saccader_tf.launch --stage=4{flag} --model_dir={model_dir}"
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"{model_dir} holds a Saccader-ClassNet ({CLASSNET_CONFIG_FILE}) whose stage-4 "
            f"checkpoint {path} does not exist. Train it with `{command}` (and the other flags of "
            "that run)."
        )
    # The stage-4 file holds the trained classifier: the local file it started from is not needed.
    classnet = model_from_config({**config, "classifier_weights": None})
    size, channels = classnet.image_size, classnet.input_channels
    classnet(tf.zeros([1, size, size, channels], tf.float32), training=False)
    load_stage_weights(
        classnet,
        path,
        f"train stage 4 again (`{command} --retrain` with the other flags of that run)",
    )
    return classnet


def load_model_config(model_dir):
    """The Saccader config recorded in `model_dir` (for evaluation and export)."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise MissingCheckpointError(f"{path} does not exist: {model_dir} holds no trained model.")
    return read_json_record(
        path, "restore it from a copy, or train the model again in a new --model_dir"
    )


def record_preprocessing(model_dir, source):
    """Writes how the data source turns uint8 images into model inputs: the recipe, mean, std and
    the evaluation crop (`crop_fraction`: a central-crop fraction, or `null` for a plain resize),
    which the export applies to raw images."""
    os.makedirs(model_dir, exist_ok=True)
    settings = getattr(source, "settings", None) or {}
    record = {
        "dataset": source.name,
        "recipe": settings.get("augment"),
        "channels": source.channels,
        "mean": list(source.mean),
        "std": list(source.std),
        "crop_fraction": source.crop_fraction,
        "class_names": list(source.class_names) if source.class_names else None,
    }
    with open(os.path.join(model_dir, PREPROCESSING_FILE), "w") as f:
        json.dump(record, f, indent=2)


def load_preprocessing(model_dir):
    """The record written by `record_preprocessing`."""
    path = os.path.join(model_dir, PREPROCESSING_FILE)
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"{path} does not exist: train the model with `python -m saccader_tf.launch "
            f"--model_dir={model_dir}` first."
        )
    return read_json_record(
        path, "delete it and re-run the training command (it is written at the start)"
    )


def read_json_record(path, fix):
    """The JSON object stored at `path` (a dict).

    Raises:
        CorruptCheckpointError: the file is not valid JSON or not a JSON object, naming `path`
            and `fix`.
    """
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptCheckpointError(
            f"{path} is not valid JSON ({error}): {fix}. Received: path={path}"
        ) from None
    if not isinstance(record, dict):
        raise CorruptCheckpointError(
            f"{path} holds a JSON {type(record).__name__}, not an object of settings: {fix}. "
            f"Received: path={path}"
        )
    return record


def config_record(config):
    """`config` (a `get_config()` dict) as it reads back from JSON (tuples as lists, dtype policies
    by name)."""
    return json.loads(json.dumps(config, default=_jsonable))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(value):
    if isinstance(value, keras.DTypePolicy):
        return value.name
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Cannot record {value!r} in {CONFIG_FILE}")
