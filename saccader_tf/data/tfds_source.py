"""Any TFDS image-classification dataset (`imagenet2012`, `imagenette`, `cifar10`, ...),
preprocessed with a preprocessing recipe (`saccader_tf.data.preprocessing`), as a `DataSource`."""

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from saccader_tf.data.batches import eval_batches, train_batches
from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.preprocessing import Recipe
from saccader_tf.data.resumable_epochs import epoch_seed
from saccader_tf.data.source import DataSource, check_channels
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int

DEFAULT_SHUFFLE_BUFFER = 10_000
LABEL_OFFSET = 1
"""Shift of every label with `background_class=True` (class 0 is the background)."""
_EVAL_SPLITS = ("validation", "test")


def tfds_source(
    name,
    *,
    image_size,
    batch_size,
    seed=0,
    data_dir=None,
    train_split="train",
    eval_split=None,
    download=True,
    shuffle_buffer=DEFAULT_SHUFFLE_BUFFER,
    augment="light",
    flip=None,
    channels="auto",
    background_class=False,
):
    """A TFDS image-classification dataset, preprocessed with the preprocessing recipe `augment`.

    Train: epoch `e` reads the split with its files shuffled by `tfds.ReadConfig(shuffle_seed=s_e)`
    and its examples shuffled (still JPEG/PNG-encoded, so the buffer is cheap) with `s_e =
    epoch_seed(seed, e)`, skips the leading examples of a resumed epoch before decoding, and applies
    the recipe's training half with stateless per-image seeds; `floor(split size / batch_size)`
    batches. Eval: the recipe's evaluation half (centre crop 0.875 for `imagenet`, a plain resize
    otherwise), in the split's order. Both are normalised with the ImageNet mean/std for 3 channels
    and `0.5`/`0.5` for 1.

    There is no `skip_bad_files` (image folders have it): TFDS decodes the images itself, from
    files it prepared and checked, so an unreadable image is an error of the prepared dataset
    (prepare it again), not a file to leave out.

    Args:
        name: TFDS dataset name, optionally with config/version (`"imagenette/320px-v2"`).
        image_size: output side `S`.
        batch_size: examples per batch.
        seed: integer seed for file order, shuffling and augmentation.
        data_dir: TFDS data directory (`None` = the TFDS default).
        train_split: training split (TFDS split syntax allowed, e.g. `"train[:90%]"`).
        eval_split: evaluation split; `None` = `"validation"` if the dataset has it, else `"test"`.
        download: call `builder.download_and_prepare()` first (a no-op when already prepared;
            `imagenet2012` needs its manual download in `<data_dir>/downloads/manual`).
        shuffle_buffer: example shuffle buffer size.
        augment: the preprocessing recipe: `"light"` (default), `"imagenet"`, `"imagenet_tf1"` or
            `"none"` (see `saccader_tf.data.preprocessing` and docs/own_data.md).
        flip: random horizontal flips in training; `None` = the recipe's default.
        channels: `"auto"` (the dataset's own channel count), 1 or 3 (converted).
        background_class: reproduction switch (off by default): add a class 0 named
            `"background"` that no example has and shift every label by one, so `imagenet2012`
            has the paper's 1001 classes (the official TF1 code's label layout); `num_classes`
            and `class_names` grow by one. Nothing else changes (same images, order, recipe).

    Returns:
        A `DataSource` yielding `(float32 [B, S, S, C], int32 [B])`.

    Example:
        >>> source = tfds_source("imagenette", image_size=224, batch_size=64, augment="imagenet")
    """
    recipe = _check_args(image_size, batch_size, shuffle_buffer, augment, flip, channels)
    _check_background_class(background_class)
    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    dataset = _describe(builder.info, name, channels, background_class)
    eval_split = eval_split or _default_eval_split(builder.info, name)
    mean, std = default_normalization(dataset["channels"])
    common = dict(image_size=image_size, batch_size=batch_size, mean=mean, std=std)
    read = dict(keys=dataset["keys"], channels=dataset["channels"], offset=dataset["offset"])
    evaluation = _read_split(builder, eval_split, **read, seed=seed, shuffle_buffer=None)
    train_size = _split_size(builder.info, train_split)
    _check_train_size(train_size, batch_size, train_split, name)
    settings = dict(
        dataset=name,
        image_size=image_size,
        batch_size=batch_size,
        seed=seed,
        channels=dataset["channels"],
        train_split=train_split,
        eval_split=eval_split,
        shuffle_buffer=shuffle_buffer,
        **recipe.settings(),
        **({"background_class": True} if background_class else {}),
    )
    train_read = dict(split=train_split, shuffle_buffer=shuffle_buffer, **read)
    return DataSource(
        train_epoch=_train_epochs(builder, train_read, recipe, seed=seed, **common),
        eval=eval_batches(evaluation, recipe, **common),
        num_classes=dataset["num_classes"],
        image_size=image_size,
        channels=dataset["channels"],
        mean=mean,
        std=std,
        name=name,
        train_size=train_size,
        eval_size=_split_size(builder.info, eval_split),
        class_names=dataset["class_names"],
        crop_fraction=recipe.eval_crop_fraction(image_size),
        batch_size=batch_size,
        settings=settings,
    )


def _check_args(image_size, batch_size, shuffle_buffer, augment, flip, channels):
    """Checks the plain arguments of `tfds_source`; returns its preprocessing `Recipe`."""
    check_int("image_size", image_size)
    check_int("batch_size", batch_size)
    check_int("shuffle_buffer", shuffle_buffer)
    recipe = Recipe(augment, flip)
    check_channels(channels)
    return recipe


def _check_background_class(background_class):
    if not isinstance(background_class, bool):
        raise BadValueError(
            "`background_class` must be True or False. "
            f"Received: background_class={background_class!r}"
        )


def _check_train_size(train_size, batch_size, train_split, name):
    if train_size is not None and batch_size > train_size:
        raise BadValueError(
            f"`batch_size` is larger than split {train_split!r} of {name!r} "
            f"({train_size} examples), "
            "so the training pipeline (which drops the last partial batch) would be empty. "
            f"Received: batch_size={batch_size}"
        )


def _describe(info, name, channels, background_class):
    """What the source needs of the dataset's `info`: `keys` (image, label feature names), the
    `channels` it yields (`"auto"` = the stored count), `num_classes` and `class_names` (with the
    `"background"` class 0 when `background_class`) and the label `offset` (0 or 1)."""
    image_key, label_key = _supervised_keys(info, name)
    stored_channels = _image_channels(info, name, image_key)
    offset = LABEL_OFFSET if background_class else 0
    num_classes = _num_classes(info, name, label_key) + offset  # checks it is a class label
    class_names = (("background",) if background_class else ()) + tuple(
        info.features[label_key].names
    )
    return dict(
        keys=(image_key, label_key),
        channels=stored_channels if channels == "auto" else channels,
        num_classes=num_classes,
        class_names=class_names,
        offset=offset,
    )


def _train_epochs(builder, read, recipe, *, seed, batch_size, **common):
    """The `train_epoch` function: epoch `e` reads `read["split"]` shuffled with
    `epoch_seed(seed, e)` (`_read_split`), after its first `skip_batches` batches, and augments it
    with the preprocessing recipe (`train_batches`)."""

    def train_epoch(epoch, skip_batches=0):
        examples = _read_split(
            builder,
            read["split"],
            keys=read["keys"],
            channels=read["channels"],
            offset=read["offset"],
            seed=epoch_seed(seed, epoch),
            shuffle_buffer=read["shuffle_buffer"],
            skip=skip_batches * batch_size,
        )
        return train_batches(
            examples,
            recipe,
            seed=seed,
            epoch=epoch,
            batch_size=batch_size,
            first_index=skip_batches * batch_size,
            **common,
        )

    return train_epoch


def _read_split(builder, split, *, keys, channels, offset, seed, shuffle_buffer, skip=0):
    """Decoded `(image uint8 [H, W, C], label + offset)` examples of `split` with `C`
    channels, shuffled unless `shuffle_buffer` is `None` (files and examples shuffled while still
    encoded, the same order on every iteration), after the first `skip` (dropped before
    decoding)."""
    image_key, label_key = keys
    shuffle = shuffle_buffer is not None
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=shuffle,
        read_config=tfds.ReadConfig(shuffle_seed=seed),
        decoders={image_key: tfds.decode.SkipDecoding()},
    )
    if offset:
        dataset = dataset.map(lambda example: (example[image_key], example[label_key] + offset))
    else:
        dataset = dataset.map(lambda example: (example[image_key], example[label_key]))
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
    if skip:
        dataset = dataset.skip(skip)
    decode = builder.info.features[image_key].decode_example
    return dataset.map(
        lambda image, label: (_with_channels(decode(image), channels), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def _with_channels(image, channels):
    """uint8 `[H, W, c]` → `[H, W, channels]` (RGB ↔ grayscale; RGBA loses alpha)."""
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 1:
        return tf.image.rgb_to_grayscale(image[..., :3])
    return tf.image.grayscale_to_rgb(image) if have == 1 else image[..., :3]


def _supervised_keys(info, name):
    keys = info.supervised_keys or ("image", "label")
    if len(keys) != 2 or not all(isinstance(k, str) for k in keys):
        keys = ("image", "label")
    missing = [k for k in keys if k not in info.features]
    if missing:
        raise BadValueError(
            f"TFDS dataset {name!r} has no {missing} feature, so it is not an image-classification "
            f"dataset this library can read (its features are {list(info.features)}). "
            f"Received: name={name!r}"
        )
    return keys


def _image_channels(info, name, image_key):
    feature = info.features[image_key]
    shape = getattr(feature, "shape", None)
    if not isinstance(feature, tfds.features.Image) or shape is None or shape[-1] is None:
        raise BadValueError(
            f"Feature {image_key!r} of TFDS dataset {name!r} is not an image with a known channel "
            f"count. Received: {image_key}={feature!r}"
        )
    return int(shape[-1])


def _num_classes(info, name, label_key):
    feature = info.features[label_key]
    if not isinstance(feature, tfds.features.ClassLabel):
        raise BadValueError(
            f"Feature {label_key!r} of TFDS dataset {name!r} is not a class label. "
            f"Received: {label_key}={feature!r}"
        )
    return int(feature.num_classes)


def _default_eval_split(info, name):
    for split in _EVAL_SPLITS:
        if split in info.splits:
            return split
    if not info.splits:  # not prepared (download=False) or mocked: the split list is unknown
        logging.warning("Splits of %r are unknown; evaluating on %r.", name, _EVAL_SPLITS[0])
        return _EVAL_SPLITS[0]
    raise BadValueError(
        f"TFDS dataset {name!r} has neither a 'validation' nor a 'test' split; pass eval_split= "
        f"one of {list(info.splits)}. Received: eval_split=None"
    )


def _split_size(info, split):
    try:
        return int(info.splits[split].num_examples)
    except (KeyError, ValueError, TypeError):
        return None
