"""`--stage=predict`: the trained model of model_dir on image files, one record per image.

    python -m saccader_tf.launch --stage=predict --model_dir=runs/a --images=photos/ \
        --output=predictions.jsonl --pictures_dir=runs/a/predict_pictures

The model settings come from model_dir (`recorded_model_settings`; `--num_glimpses` only when
given, else the model's own T). Each readable image gives one record of `saccader_tf.load`'s
`predict` (JSON lines, or CSV with one column per top-k rank); files that cannot be decoded are
named on stderr as they are met, left out, and counted at the end. Progress goes to stdout: one
line rewritten in place on a terminal, else a plain line per tenth of the images.
"""

import csv
import json
import os
import sys

from saccader_tf.evaluation.pictures import plot_glimpses
from saccader_tf.inference.image_inputs import image_paths
from saccader_tf.inference.predictor import load
from saccader_tf.model_dir import files
from saccader_tf.model_dir.errors import MissingCheckpointError
from saccader_tf.run.recorded_checks import recorded_model_settings
from saccader_tf.utils.errors import UserError
from saccader_tf.utils.progress_line import ProgressLine


class OutputNotWritableError(UserError, OSError):
    """`--output` (or `--pictures_dir`) cannot be written."""


def predict(settings):
    """Runs `--stage=predict` for `settings` (a validated `RunSettings`).

    Returns:
        `(written, skipped)`: the number of records written and the list of unreadable files.
    """
    if not files.isdir(settings.model_dir):
        raise MissingCheckpointError(
            f"No trained model in {settings.model_dir}: the folder does not exist. Train one "
            f"with `python -m saccader_tf.launch --model_dir={settings.model_dir}` first, or "
            "name the --model_dir of a trained run."
        )
    recorded_model_settings(settings, "predict")  # refuses flags that contradict the record
    paths = image_paths(settings.images)  # a missing file or empty folder fails before loading
    handle = _open_output(settings.output)
    with handle:
        predictor = load(settings.model_dir, batch_size=settings.batch_size)
        num_glimpses = settings.num_glimpses if settings.given("num_glimpses") else None
        writer = _RecordWriter(handle, settings.output, settings.top_k, predictor)
        progress = ProgressLine(len(paths), "predict")
        skipped = []

        def on_skip(path):
            skipped.append(path)
            print(f"skipping unreadable image file {path}", file=sys.stderr, flush=True)

        results = predictor.iter_predict(
            paths,
            top_k=settings.top_k,
            num_glimpses=num_glimpses,
            skip_bad_files=True,
            on_skip=on_skip,
            keep_images=settings.pictures_dir is not None,
        )
        for index, result in enumerate(results):
            if settings.pictures_dir is not None:
                _draw(result, index, settings.pictures_dir)
            writer.write(result)
            progress.show(index + 1 + len(skipped), f" ({len(skipped)} unreadable)")
        progress.show(len(paths), f" ({len(skipped)} unreadable)", final=True)
    _report(writer.count, skipped, settings)
    return writer.count, skipped


def _open_output(output):
    directory = os.path.dirname(output)
    try:
        if directory:
            os.makedirs(directory, exist_ok=True)
        return open(output, "w", newline="", encoding="utf-8")
    except OSError as error:
        raise OutputNotWritableError(
            f"Cannot write --output={output} ({error.strerror or error}): choose a file in a "
            f"folder you can write to. Received: --output={output}"
        ) from None


class _RecordWriter:
    """Writes one record per result as a JSON line, or a CSV row (`.csv`)."""

    def __init__(self, handle, output, top_k, predictor):
        self.handle, self.count = handle, 0
        self.csv = csv.writer(handle) if output.lower().endswith(".csv") else None
        if self.csv is not None:
            k = min(top_k, predictor.model.num_classes)
            ranks = [
                f"{what}_{rank}" for rank in range(1, k + 1) for what in ("class", "name", "prob")
            ]
            self.csv.writerow(["path", "height", "width", *ranks, "glimpse_boxes"])

    def write(self, result):
        result = {key: value for key, value in result.items() if key != "image"}
        if self.csv is None:
            self.handle.write(json.dumps(result) + "\n")
        else:
            ranks = zip(result["classes"], result["class_names"], result["probabilities"])
            row = [value for rank in ranks for value in rank]
            boxes = json.dumps(result["glimpse_boxes"])
            self.csv.writerow([result["path"], result["height"], result["width"], *row, boxes])
        self.handle.flush()
        self.count += 1


def _draw(result, index, pictures_dir):
    stem = os.path.splitext(os.path.basename(result["path"]))[0]
    path = os.path.join(pictures_dir, f"{index:05d}_{stem}.png")
    title = f"{result['class_names'][0]} ({result['probabilities'][0]:.2f})"
    try:
        plot_glimpses(result["image"][None], [result["glimpse_boxes"]], path, titles=[title])
    except OSError as error:
        raise OutputNotWritableError(
            f"Cannot write the picture {path} ({error.strerror or error}): choose a "
            f"--pictures_dir you can write to. Received: --pictures_dir={pictures_dir}"
        ) from None


def _report(written, skipped, settings):
    line = f"wrote {written} prediction(s) to {settings.output}"
    if settings.pictures_dir is not None:
        line += f" and glimpse pictures to {settings.pictures_dir}"
    if skipped:
        line += f"; skipped {len(skipped)} unreadable file(s): {', '.join(skipped)}"
    print(line, flush=True)
