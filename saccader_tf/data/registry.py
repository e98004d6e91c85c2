"""`make_source`: one entry point from a dataset name to a `DataSource`."""

import tensorflow_datasets as tfds

from saccader_tf.data.cluttered_mnist import cluttered_mnist_source
from saccader_tf.data.image_folder import image_folder_source
from saccader_tf.data.tfds_source import tfds_source
from saccader_tf.data.tfrecord_source import tfrecord_source
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int

CLUTTERED_MNIST = "cluttered_mnist"
FOLDER_PREFIX = "folder:"
TFRECORD_PREFIX = "tfrecord:"


def make_source(name, *, image_size, batch_size, seed=0, data_dir=None, **kwargs):
    """Builds the `DataSource` called `name`.

    Args:
        name: `"cluttered_mnist"` (the offline default, see `cluttered_mnist_source`),
            `"folder:<path>"` (an image folder, see `image_folder_source`), `"tfrecord:<path>"`
            (ImageNet-style TFRecord shards in a folder or matching a glob, see
            `tfrecord_source`), or any other string: a TFDS dataset name such as `"imagenette"` or
            `"imagenet2012"` (see `tfds_source`).
        image_size: side `S` of the square images the model sees.
        batch_size: examples per batch.
        seed: integer seed of generation, shuffling and augmentation.
        data_dir: TFDS data directory (for TFDS datasets and `cluttered_mnist` with
            `digits="tfds"`); ignored by image folders.
        **kwargs: passed to the source's builder (e.g. `num_clutter=8`, `augment="imagenet"`,
            `eval_split="test"`; `skip_bad_files=True` for image folders and TFRecord shards
            only: `tfds_source` has no such argument, TFDS decodes the images itself;
            `label_offset=1` for TFRecord shards).

    Returns:
        A `DataSource`.

    Example:
        >>> source = make_source("cluttered_mnist", image_size=60, batch_size=64, seed=1)
    """
    if not isinstance(name, str) or not name:
        raise BadValueError(
            "`name` must be 'cluttered_mnist', 'folder:<path>', 'tfrecord:<path>' or a TFDS "
            "dataset name. "
            f"Received: name={name!r}"
        )
    check_int("image_size", image_size)
    check_int("batch_size", batch_size)
    common = dict(image_size=image_size, batch_size=batch_size, seed=seed)
    if name == CLUTTERED_MNIST:
        return cluttered_mnist_source(data_dir=data_dir, **common, **kwargs)
    if name.startswith(FOLDER_PREFIX):
        root = name[len(FOLDER_PREFIX) :]
        if not root:
            raise BadValueError(
                "Give the folder after the prefix, e.g. 'folder:/data/flowers'. "
                f"Received: name={name!r}"
            )
        return image_folder_source(root, name=name, **common, **kwargs)
    if name.startswith(TFRECORD_PREFIX):
        location = name[len(TFRECORD_PREFIX) :]
        if not location:
            raise BadValueError(
                "Give the shards' folder or glob after the prefix, e.g. "
                f"'tfrecord:/data/imagenet'. Received: name={name!r}"
            )
        return tfrecord_source(location, name=name, **common, **kwargs)
    try:
        return tfds_source(name, data_dir=data_dir, **common, **kwargs)
    except tfds.core.registered.DatasetNotFoundError:
        raise BadValueError(
            f"Unknown dataset {name!r}: it is not {CLUTTERED_MNIST!r}, "
            f"not '{FOLDER_PREFIX}<path>' or '{TFRECORD_PREFIX}<path>', "
            "and TFDS has no dataset of that name (see `tfds.list_builders()`). "
            f"Received: name={name!r}"
        ) from None
