"""Finding and surveying ImageNet-style TFRecord shards before reading them.

`find_shards(location)` lists the `train-*` and `validation-*` shards of a folder (or of a glob's
matches); `scan_shards(files, label_offset)` reads every record's label and class name once (the
encoded images are read but not decoded), which gives the number of records of each split, the
number of classes and their names, and refuses a damaged shard, a record that is not a
`tf.train.Example` with a label, or a label that is negative after `label_offset`, each with one
line naming the shard. `sample_is_grayscale` decides `channels="auto"` from the first records.
"""

import concurrent.futures
import dataclasses
import io
import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.image_survey import is_grayscale
from saccader_tf.data.tfrecord_features import ENCODED, EVAL_PREFIX, LABEL, TEXT, TRAIN_PREFIX
from saccader_tf.utils.errors import BadValueError, MissingFileError
from saccader_tf.utils.progress_line import ProgressLine

SCAN_THREADS = 4
PROGRESS_SHARDS = 10
"""A scan of at least this many shards shows a progress line."""
SURVEY_RECORDS = 64
_MISSING_LABEL = -(2**62)
_SCAN_BATCH = 1024
_GLOB_CHARACTERS = "*?["


@dataclasses.dataclass(frozen=True)
class ShardScan:
    """What `scan_shards` found.

    Attributes:
        records: number of records of each file, in the order of the files.
        min_label, max_label: smallest and largest label after the offset.
        names: `{label: class name}` of the records that have a non-empty `image/class/text`.
    """

    records: Tuple[int, ...]
    min_label: int
    max_label: int
    names: dict

    @property
    def total(self):
        return int(sum(self.records))


def find_shards(location):
    """The training and evaluation shards at `location`.

    Args:
        location: a folder holding `train-*` and `validation-*` files, or a glob pattern (any
            `tf.io.gfile` path) whose matches are split by their name into `train-*` and
            `validation-*` (other matches are ignored).

    Returns:
        `(train_files, eval_files)`, two sorted tuples of paths.

    Raises:
        MissingFileError: no `train-*` or no `validation-*` shard was found.
    """
    is_glob = any(c in location for c in _GLOB_CHARACTERS)
    if not is_glob and not tf.io.gfile.isdir(location):
        raise MissingFileError(
            f"TFRecord folder {location} does not exist or is not a folder. Pass the folder that "
            f"holds the train-* and validation-* shards, or a glob. Received: dataset=tfrecord:"
            f"{location}"
        )
    if is_glob:
        matches = tf.io.gfile.glob(location)
    else:
        matches = [os.path.join(location, name) for name in tf.io.gfile.listdir(location)]
    found = []
    for prefix in (TRAIN_PREFIX, EVAL_PREFIX):
        files = sorted(m for m in matches if os.path.basename(m.rstrip("/")).startswith(prefix))
        if not files:
            raise MissingFileError(
                f"No {prefix}* shard at {location}: expected files named like "
                f"{prefix}00000-of-00004 (ImageNet TFRecord layout; write them with python -m "
                f"saccader_tf.data.write_tfrecords FOLDER OUT). Received: dataset=tfrecord:"
                f"{location}"
            )
        found.append(tuple(files))
    return found[0], found[1]


def _parse_label_text(record):
    features = tf.io.parse_single_example(
        record,
        {
            LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING_LABEL),
            TEXT: tf.io.FixedLenFeature([], tf.string, default_value=""),
        },
    )
    return features[LABEL], features[TEXT]


def _scan_file(path, label_offset):
    """`(records, min label, max label, {label: name})` of one shard (labels after the offset)."""
    count, low, high, names = 0, None, None, {}
    dataset = (
        tf.data.TFRecordDataset(path)
        .map(_parse_label_text, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(_SCAN_BATCH)
    )
    try:
        for labels, texts in dataset.as_numpy_iterator():
            if np.any(labels == _MISSING_LABEL):
                record = count + int(np.argmax(labels == _MISSING_LABEL))
                raise BadValueError(
                    f"Record {record} of shard {path} has no {LABEL} feature: every record needs "
                    "an int64 class label. Write the shard again."
                )
            labels = labels - label_offset
            if labels.min() < 0:
                raise BadValueError(
                    f"Shard {path} holds label {int(labels.min()) + label_offset}, which is "
                    f"{int(labels.min())} after --label_offset={label_offset}: labels must lie in "
                    "[0, num_classes) after the offset. Pass the label of the first class as "
                    "--label_offset (0 for 0-based labels, 1 for the classic ImageNet shards)."
                )
            count += len(labels)
            low = int(labels.min()) if low is None else min(low, int(labels.min()))
            high = int(labels.max()) if high is None else max(high, int(labels.max()))
            _collect_names(names, labels, texts, path)
    except tf.errors.OpError as error:
        first_line = error.message.strip().splitlines()[0] if error.message else type(error)
        raise BadValueError(
            f"Cannot read shard {path}: {first_line} (a damaged file, or not a TFRecord of "
            "tf.train.Example records). Write the shard again or remove it."
        ) from None
    return count, low, high, names


def _collect_names(names, labels, texts, path):
    pairs = np.unique(np.stack([labels.astype(str), texts.astype(object)], 1).astype(str), axis=0)
    for label, text in pairs:
        if not text:
            continue
        label, text = int(label), str(text)
        known = names.setdefault(label, text)
        if known != text:
            raise BadValueError(
                f"Label {label} has two class names in the shards, {known!r} and {text!r} (the "
                f"second in shard {path}): each label needs one {TEXT}. Write the shards again."
            )


def scan_shards(files, label_offset=0, threads=SCAN_THREADS):
    """Reads the labels and class names of every record of `files` (see the module docstring).

    Args:
        files: sequence of shard paths.
        label_offset: subtracted from every stored label.
        threads: shards read at the same time.

    A scan of `PROGRESS_SHARDS` or more shards shows a `ProgressLine` ("scanning shards").

    Returns:
        A `ShardScan`.
    """
    shown = len(files) >= PROGRESS_SHARDS
    progress = ProgressLine(len(files), "scanning shards", unit="shards") if shown else None
    results = []
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for result in pool.map(lambda path: _scan_file(path, label_offset), files):
            results.append(result)
            if progress:
                progress.show(len(results), final=len(results) == len(files))
    for path, (count, *_rest) in zip(files, results):
        if not count:
            raise BadValueError(f"Shard {path} holds no records. Remove it or write it again.")
    names = {}
    for path, (*_counts, shard_names) in zip(files, results):
        for label, text in shard_names.items():
            known = names.setdefault(label, text)
            if known != text:
                raise BadValueError(
                    f"Label {label} has two class names in the shards, {known!r} and {text!r} "
                    f"(the second in shard {path}): each label needs one {TEXT}."
                )
    return ShardScan(
        records=tuple(r[0] for r in results),
        min_label=min(r[1] for r in results),
        max_label=max(r[2] for r in results),
        names=names,
    )


def class_names_of(names, num_classes) -> Optional[Tuple[str, ...]]:
    """The `num_classes` class names: `names[k]` (`image/class/text`), `str(k)` for a label without
    one; `None` when no record has a name."""
    if not names:
        return None
    return tuple(names.get(k, str(k)) for k in range(num_classes))


def sample_is_grayscale(files, sample_size=SURVEY_RECORDS):
    """`(grayscale, sampled)`: how many of the first records of the shards (up to `sample_size`,
    spread over the first shards) hold grayscale images (`is_grayscale` of the folder survey);
    records Pillow cannot open are left out."""
    per_file = max(1, -(-sample_size // len(files)))
    encoded = (
        tf.data.Dataset.from_tensor_slices(list(files)[:sample_size])
        .flat_map(lambda path: tf.data.TFRecordDataset(path).take(per_file))
        .take(sample_size)
        .map(lambda record: tf.io.parse_single_example(record, _ENCODED_ONLY)[ENCODED])
    )
    gray = sampled = 0
    for data in encoded.as_numpy_iterator():
        try:
            with Image.open(io.BytesIO(data)) as image:
                gray += is_grayscale(image)
                sampled += 1
        except Exception:  # noqa: BLE001 - as the folder survey: unreadable images are skipped
            continue
    return gray, sampled


_ENCODED_ONLY = {ENCODED: tf.io.FixedLenFeature([], tf.string, default_value="")}
