"""`model_dir/preprocessing.json`: how the run's data source turns uint8 images into model inputs.

Written when training starts (from the `DataSource`), read by the export, which applies the same
steps to raw images: the recipe name (which decides the resize method), the per-channel mean and
std, and the evaluation crop (`crop_fraction`: a central-crop fraction, or `null` for a plain
resize); also the dataset, its channels and class names.
"""

import json
import os

from saccader_tf.model_dir.errors import MissingCheckpointError
from saccader_tf.model_dir.records import read_json_record

PREPROCESSING_FILE = "preprocessing.json"


def record_preprocessing(model_dir, source):
    """Writes the preprocessing record of `source` (a `DataSource`) to
    `model_dir/preprocessing.json`."""
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
    """The record written by `record_preprocessing` (a dict).

    Raises:
        MissingCheckpointError: the file does not exist, naming the command that writes it.
        CorruptCheckpointError: the file is no JSON object.
    """
    path = os.path.join(model_dir, PREPROCESSING_FILE)
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"{path} does not exist: train the model with `python -m saccader_tf.launch "
            f"--model_dir={model_dir}` first."
        )
    return read_json_record(
        path, "delete it and re-run the training command (it is written at the start)"
    )
