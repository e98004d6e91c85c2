"""`model_dir/preprocessing.json`: how the run's data source turns uint8 images into model inputs.

Written when a stage starts training (from the `DataSource`; a run that skips every stage keeps
the record, see `record_differences`), read by the export, which applies the same steps to raw
images: the recipe name (which decides the resize method), the per-channel mean and std, and the
evaluation crop (`crop_fraction`: a central-crop fraction, or `null` for a plain resize); also the
dataset, its channels and class names.
"""

import math
import os

from saccader_tf.model_dir import files
from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.model_dir.records import read_json_record, write_json_record

PREPROCESSING_FILE = "preprocessing.json"
_FIX = (
    "restore it from a copy, or delete it and re-run the training command of that run (every "
    "stage is then skipped and the record is written again from its flags)"
)


def preprocessing_of(source):
    """The preprocessing record of `source` (a `DataSource`), as `preprocessing.json` holds it."""
    settings = getattr(source, "settings", None) or {}
    return {
        "dataset": source.name,
        "recipe": settings.get("augment"),
        "channels": source.channels,
        "mean": [float(value) for value in source.mean],
        "std": [float(value) for value in source.std],
        "crop_fraction": source.crop_fraction,
        "class_names": list(source.class_names) if source.class_names else None,
    }


def record_preprocessing(model_dir, source):
    """Writes the preprocessing record of `source` (a `DataSource`) to
    `model_dir/preprocessing.json` (atomically: a full disk leaves the previous record)."""
    write_json_record(
        os.path.join(model_dir, PREPROCESSING_FILE), preprocessing_of(source), sort_keys=False
    )


def record_differences(model_dir, source):
    """How the record in `model_dir` differs from what `source` would record: a list of
    `"key: recorded -> current"` strings (empty when they agree), or `None` when model_dir holds
    no usable record."""
    try:
        recorded = load_preprocessing(model_dir)
    except (MissingCheckpointError, CorruptCheckpointError):
        return None
    current = preprocessing_of(source)
    return [
        f"{key}: {_short(recorded.get(key))} -> {_short(value)}"
        for key, value in current.items()
        if key in recorded and recorded[key] != value
    ]


def load_preprocessing(model_dir):
    """The record written by `record_preprocessing` (a dict), checked: a finite `mean` and a
    positive finite `std` per channel, and a `crop_fraction` in (0, 1] or `null`.

    Raises:
        MissingCheckpointError: the file does not exist, naming the command that writes it.
        CorruptCheckpointError: the file is no JSON object, or lacks or garbles an entry.
    """
    path = os.path.join(model_dir, PREPROCESSING_FILE)
    if not files.exists(path):
        raise MissingCheckpointError(
            f"{path} does not exist: train the model with `python -m saccader_tf.launch "
            f"--model_dir={model_dir}` first (or, on a trained model_dir, re-run its training "
            "command: every stage is skipped and the record is written from its flags)."
        )
    record = read_json_record(path, _FIX)
    problem = _problem(record)
    if problem:
        raise CorruptCheckpointError(f"{path} {problem}: {_FIX}. Received: path={path}")
    return record


def _problem(record):
    """What is wrong with a preprocessing `record` (`None`: nothing)."""
    mean, std = record.get("mean"), record.get("std")
    for key, values in (("mean", mean), ("std", std)):
        if not isinstance(values, list) or not values:
            return f"lacks the per-channel {key!r} (it holds {values!r})"
        if not all(_finite_number(value) for value in values):
            return f"holds a non-finite or non-numeric {key!r} ({values!r})"
    if len(mean) != len(std):
        return f"holds {len(mean)} mean values but {len(std)} std values"
    if not all(value > 0 for value in std):
        return f"holds a std <= 0 ({std!r}), which would divide by zero"
    if "crop_fraction" not in record:
        return "lacks 'crop_fraction'"
    crop = record["crop_fraction"]
    if crop is not None and not (_finite_number(crop) and 0 < crop <= 1):
        return f"holds crop_fraction={crop!r}, not a fraction in (0, 1] or null"
    return None


def _finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value):
    """`value` for a one-line message (long lists cut)."""
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:3]))}, ... ({len(value)} entries)]"
    return repr(value)
