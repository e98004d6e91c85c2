"""The checks of the predict settings (`images`, `output`, `pictures_dir`, `top_k`), part of
`RunSettings.validate` (`saccader_tf.run.validate`): they are needed by `--stage=predict` and
refused for every other stage, where they would be ignored."""

import os

from saccader_tf.run.settings_error import ARG, SettingsError

PREDICT_STAGE = "predict"
OUTPUT_FORMATS = (".jsonl", ".csv")
"""The results formats of `--stage=predict`, by the extension of `output`."""
PREDICT_SETTINGS = ("images", "output", "pictures_dir")


def check_predict(settings, stage):
    """`--stage=predict` needs `images` and an `output` ending in `.jsonl` or `.csv` (not a
    folder); `pictures_dir`, if given, is no file; `top_k >= 1`. Other stages take none of them."""
    if settings.top_k < 1:
        raise SettingsError(f"{ARG}top_k must be >= 1. Received: {ARG}top_k={settings.top_k}")
    if stage != PREDICT_STAGE:
        given = [f"{ARG}{name}" for name in PREDICT_SETTINGS if getattr(settings, name)]
        if given:
            raise SettingsError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to "
                f"{ARG}stage=predict (the trained model on image files). Drop it or use "
                f"{ARG}stage=predict. Received: {ARG}stage={stage}"
            )
        return
    if not settings.images or not settings.images.strip():
        raise SettingsError(
            f"{ARG}stage=predict needs {ARG}images=FILE|DIR|GLOB (an image file, a folder of "
            f"images or a quoted glob pattern such as 'photos/*.jpg')."
        )
    output = settings.output
    if not output or not output.lower().endswith(OUTPUT_FORMATS):
        raise SettingsError(
            f"{ARG}stage=predict needs {ARG}output=FILE ending in .jsonl (JSON lines) or .csv, "
            f"e.g. {ARG}output=predictions.jsonl. Received: {ARG}output={output}"
        )
    if os.path.isdir(output):
        raise SettingsError(
            f"{ARG}output={output} is a folder: name a file in it, e.g. "
            f"{ARG}output={os.path.join(output, 'predictions.jsonl')}."
        )
    pictures = settings.pictures_dir
    if pictures is not None and os.path.exists(pictures) and not os.path.isdir(pictures):
        raise SettingsError(
            f"{ARG}pictures_dir={pictures} is a file, not a folder: choose a folder path. "
            f"Received: {ARG}pictures_dir={pictures}"
        )
