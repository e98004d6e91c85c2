"""The JSON records of a model_dir: the model's config and, for a Saccader-ClassNet, its own config.

    model_dir/model_config.json     the model's `get_config()` (a Saccader or a DRAM; one model
                                    per model_dir)
    model_dir/classnet_config.json  a Saccader-ClassNet's `get_config()`, written when its stage 4
                                    starts: model_dir then holds a ClassNet

A run records its model's config when it starts and checks it when it continues, so that the
weights of another architecture never load into the model of these flags. `read_json_record`
reads any of the model_dir's JSON files with an error that names the file and the fix.
"""

import json
import os

import keras

from saccader_tf.model_dir import files
from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.utils.errors import BadValueError

CONFIG_FILE = "model_config.json"
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
# Entries every recorded model config holds (Saccader and DRAM), with their types.
_REQUIRED_KEYS = {"num_classes": int, "image_size": int, "input_channels": int, "variant": str}
_CONFIG_FIX = (
    "restore it from a copy, or delete it and re-run the training command with that run's flags "
    "(which records it again; the stage files must fit it), or use a new --model_dir"
)
# The same for a Saccader-ClassNet's own settings (its Saccader's are in CONFIG_FILE).
_CLASSNET_KEYS = (
    "classifier",
    "classifier_image_size",
    "glimpse_input_size",
    "small_cnn_widths",
    "interpolation",
)


def check_model_config(model_dir, config, *, file=CONFIG_FILE, keys=_ARCHITECTURE_KEYS):
    """Records `config` in `model_dir/file`, or checks its `keys` against the one recorded there.

    Args:
        model_dir: the run's directory (created if needed).
        config: the model's `get_config()` dict.
        file: the record's file name under `model_dir`.
        keys: the config entries that must agree with the recorded ones.

    Raises:
        ValueError: when `model_dir` holds a model of another architecture, naming the
            differing settings and the fix.
    """
    path = os.path.join(model_dir, file)
    config = config_record(config)
    if files.exists(path):
        recorded = read_json_record(path, _CONFIG_FIX)
        if file == CONFIG_FILE:
            _checked_model_record(path, recorded)
        differences = {
            key: (recorded.get(key), config.get(key))
            for key in keys
            if recorded.get(key) != config.get(key)
        }
        if differences:
            details = ", ".join(
                f"{k}: {old!r} there vs {new!r} now" for k, (old, new) in differences.items()
            )
            raise BadValueError(
                f"{model_dir} holds checkpoints of another model ({details}). Use the same flags "
                f"as that run, or a new --model_dir. Received: model_dir={model_dir}"
            )
        return
    write_json_record(path, config)


def load_model_config(model_dir):
    """The model config recorded in `model_dir/model_config.json` (a dict).

    Raises:
        MissingCheckpointError: the file does not exist (model_dir holds no trained model).
        CorruptCheckpointError: the file is no JSON object.
    """
    path = os.path.join(model_dir, CONFIG_FILE)
    if not files.exists(path):
        raise MissingCheckpointError(f"{path} does not exist: {model_dir} holds no trained model.")
    return _checked_model_record(path, read_json_record(path, _CONFIG_FIX))


def _checked_model_record(path, record):
    """`record` (read from `path`) once it holds the entries every model config has."""
    for key, kind in _REQUIRED_KEYS.items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or value in (0, ""):
            raise CorruptCheckpointError(
                f"{path} lacks a valid {key!r} (it holds {value!r}), so the model it records "
                f"cannot be rebuilt: {_CONFIG_FIX}. Received: path={path}"
            )
    return record


def check_classnet_config(model_dir, config):
    """Records a Saccader-ClassNet's `config` in `model_dir/classnet_config.json` (model_dir then
    holds a ClassNet), or checks it against the one recorded there.

    Raises:
        ValueError: when `model_dir` holds another ClassNet (another classifier, sizes, ...).
    """
    check_model_config(model_dir, config, file=CLASSNET_CONFIG_FILE, keys=_CLASSNET_KEYS)


def load_classnet_config(model_dir):
    """The Saccader-ClassNet config recorded in `model_dir`, or `None` when it holds none."""
    path = os.path.join(model_dir, CLASSNET_CONFIG_FILE)
    if not files.exists(path):
        return None
    return read_json_record(
        path,
        "delete it (and model_dir/stage4) to use the Saccader alone, or "
        "train stage 4 again in a new --model_dir",
    )


def read_json_record(path, fix):
    """The JSON object stored at `path` (a dict).

    Args:
        path: a JSON file of model_dir.
        fix: what to do about a bad file (quoted in the error).

    Raises:
        CorruptCheckpointError: the file is not valid JSON or not a JSON object, naming `path`
            and `fix`.
    """
    try:
        with files.open_file(path, "r") as f:
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


def write_json_record(path, record, *, sort_keys=True):
    """Writes the JSON object `record` to `path` (its folder created if needed) as a whole or not
    at all: to a temporary file beside it, then renamed over it. A full disk or a kill while
    writing leaves the previous file (or none), never a truncated one."""
    files.makedirs(os.path.dirname(path) or ".")
    partial = f"{path}.partial"
    try:
        with files.open_file(partial, "w") as f:
            json.dump(record, f, indent=2, sort_keys=sort_keys)
            f.write("\n")
        files.replace(partial, path)
    except BaseException:
        try:
            files.remove(partial)
        except Exception:  # noqa: BLE001 (the error that got here is the one to raise)
            pass
        raise


def config_record(config):
    """`config` (a `get_config()` dict) as it reads back from JSON (tuples as lists, dtype policies
    by name)."""
    return json.loads(json.dumps(config, default=_jsonable))


def _jsonable(value):
    if isinstance(value, keras.DTypePolicy):
        return value.name
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Cannot record {value!r} in {CONFIG_FILE}")
