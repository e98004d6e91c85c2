"""Images in class folders, `<root>/train/<class>/*` and `<root>/val/<class>/*`, as a
`DataSource`."""

import numpy as np
from absl import logging

from saccader_tf.data.batches import eval_batches, train_batches
from saccader_tf.data.decoded_cache import DEFAULT_BUDGET_BYTES, DecodedCache, should_cache
from saccader_tf.data.image_decoding import ImageFiles
from saccader_tf.data.image_folder_listing import list_image_folder
from saccader_tf.data.image_survey import survey_images
from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.preprocessing import Recipe
from saccader_tf.data.resumable_epochs import epoch_order
from saccader_tf.data.source import DataSource, check_channels
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int


def image_folder_source(
    root,
    *,
    image_size,
    batch_size,
    seed=0,
    augment="light",
    flip=None,
    channels="auto",
    cache="auto",
    cache_budget_bytes=DEFAULT_BUDGET_BYTES,
    skip_bad_files=False,
    check_files=True,
    name=None,
    evaluation_only=False,
):
    """An image folder, preprocessed with the preprocessing recipe `augment`.

    Layout: `<root>/train/<class>/<image>` and `<root>/val/<class>/<image>` (`validation/` or
    `test/` are used when `val/` is missing). Images are `IMAGE_EXTENSIONS` (any case), found
    recursively in each class folder (see `list_image_folder`, also for symbolic links, named pipes
    and hidden files). Class names are the sorted sub-folder names of `train/` (at least 2, in
    Unicode NFC form); the evaluation split must have the same ones.

    Epochs: epoch `e` is a seeded permutation of the training files (`epoch_order`) cut to
    `floor(files / batch_size)` full batches; its order and augmentation depend only on `(seed, e)`,
    so `train_epoch(e, skip)` resumes exactly. With `cache="auto"` the decoded images are kept in
    memory (uint8) when the estimate fits `cache_budget_bytes` (they are decoded once, with a
    progress bar, when the source is made), and streamed from disk (decoded every epoch) otherwise;
    both give identical batches.

    Unreadable files: empty files and non-images are found while listing (one 34-byte read per file,
    which also tells the TIFF and BMP files only Pillow decodes; `check_files=False` turns it off),
    corrupt bodies when decoded (see `saccader_tf.data.image_decoding`). Either raises an error
    naming the file, or, with `skip_bad_files=True`, is logged and left out: at listing time the
    file is dropped; at decode time a training file's slot is filled by the next readable file, so
    epochs keep their `floor(train_size / batch_size)` batches and stay addressable, and an
    evaluation file is dropped.

    Args:
        root: the folder holding `train/` and `val/`.
        image_size: output side `S`.
        batch_size: examples per batch; at most the number of training images.
        seed: integer seed of the epoch order and the augmentation.
        augment: the preprocessing recipe, `"light"` (default: small shifts, no scale change, no
            flips), `"imagenet"`, `"imagenet_tf1"` or `"none"` (see `saccader_tf.data.preprocessing`
            and docs/own_data.md).
        flip: random horizontal flips in training; `None` = the recipe's default.
        channels: `"auto"` (1 when the sampled training images are all grayscale, else 3; see
            `saccader_tf.data.image_survey`), 1 or 3.
        cache: `"auto"`, `"memory"` (always decode once) or `"stream"` (never).
        cache_budget_bytes: memory budget of `cache="auto"` (train and eval together).
        skip_bad_files: skip unreadable files with a warning instead of raising.
        check_files: check the signature of every file while listing.
        name: `DataSource.name`; `None` = `"folder:<root>"`.
        evaluation_only: the source is read for its evaluation split only (`--stage=eval`): the
            training images are neither checked against `batch_size` nor decoded into memory
            (`train_epoch` still streams them).

    Returns:
        A `DataSource` yielding `(float32 [B, S, S, C], int32 [B])`, normalised with the ImageNet
        mean/std (3 channels) or `0.5`/`0.5` (1 channel), with `class_names`, `train_epoch` and
        `settings` set.

    Example:
        >>> source = image_folder_source("/data/flowers", image_size=224, batch_size=32,
        ...                              augment="imagenet")
    """
    check_int("image_size", image_size)
    check_int("batch_size", batch_size)
    recipe = Recipe(augment, flip)
    listing = list_image_folder(root, check_files=check_files, skip_bad_files=skip_bad_files)
    num_train, num_eval = len(listing.train_paths), len(listing.eval_paths)
    _check_batch_size(batch_size, num_train, evaluation_only)
    survey = survey_images(listing.train_paths)
    _warn_rotated(survey)
    channels = _resolve_channels(channels, survey)
    mean, std = default_normalization(channels)
    train_store, eval_store = _image_stores(
        listing, survey, channels, skip_bad_files, cache, cache_budget_bytes, evaluation_only
    )
    common = dict(image_size=image_size, batch_size=batch_size, mean=mean, std=std)
    name = name or f"folder:{root}"
    settings = dict(
        dataset=name,
        image_size=image_size,
        batch_size=batch_size,
        seed=seed,
        channels=channels,
        train_files=num_train,
        eval_files=num_eval,
        skip_bad_files=skip_bad_files,
        **recipe.settings(),
    )
    return DataSource(
        train_epoch=_train_epochs(train_store, num_train, recipe, seed=seed, **common),
        eval=eval_batches(eval_store.examples(np.arange(len(eval_store))), recipe, **common),
        eval_at=_eval_at(eval_store, num_eval, recipe, common),
        num_classes=len(listing.class_names),
        image_size=image_size,
        channels=channels,
        mean=mean,
        std=std,
        name=name,
        train_size=num_train,
        eval_size=num_eval,
        class_names=listing.class_names,
        crop_fraction=recipe.eval_crop_fraction(image_size),
        batch_size=batch_size,
        settings=settings,
    )


def _check_batch_size(batch_size, num_train, evaluation_only):
    if batch_size > num_train and not evaluation_only:
        raise BadValueError(
            "`batch_size` is larger than the number of training images, so the training pipeline "
            f"(which drops the last partial batch) would be empty. Received: "
            f"batch_size={batch_size}, training images={num_train}"
        )


def _train_epochs(store, num_train, recipe, *, seed, batch_size, **common):
    """The `train_epoch` function of the `num_train` listed training images in `store`: epoch `e`
    is the seeded permutation `epoch_order(num_train, batch_size, seed, e, skip_batches)`,
    augmented by the preprocessing recipe (`train_batches`)."""

    def train_epoch(epoch, skip_batches=0):
        order = epoch_order(num_train, batch_size, seed, epoch, skip_batches)
        return train_batches(
            store.examples(order),
            recipe,
            seed=seed,
            epoch=epoch,
            batch_size=batch_size,
            first_index=skip_batches * batch_size,
            **common,
        )

    return train_epoch


def _image_stores(
    listing, survey, channels, skip_bad_files, cache, cache_budget_bytes, evaluation_only
):
    """The training and evaluation images of `listing` as `ImageFiles` (decoded every epoch), or
    as `DecodedCache`s (decoded once, now) when `cache` says so (`should_cache`); with
    `evaluation_only` the training images always stay `ImageFiles`."""
    files = dict(channels=channels, skip_bad_files=skip_bad_files)
    train_store = ImageFiles(
        listing.train_paths, listing.train_labels, pillow=listing.train_pillow, **files
    )
    eval_store = ImageFiles(
        listing.eval_paths,
        listing.eval_labels,
        fill_bad_slots=False,
        pillow=listing.eval_pillow,
        **files,
    )
    num_images = len(listing.eval_paths) + (0 if evaluation_only else len(listing.train_paths))
    if should_cache(cache, survey.estimated_bytes(num_images, channels), cache_budget_bytes):
        if not evaluation_only:
            train_store = DecodedCache.build(train_store, "training images")
        eval_store = DecodedCache.build(eval_store, "evaluation images")
    return train_store, eval_store


def _resolve_channels(channels, survey):
    check_channels(channels)
    if channels != "auto":
        return channels
    logging.info(
        "channels=auto: %d of %d sampled training images are grayscale, so %d channel(s).",
        survey.grayscale,
        survey.sampled,
        survey.auto_channels,
    )
    return survey.auto_channels


def _warn_rotated(survey):
    if survey.rotated:
        logging.warning(
            "%d of %d sampled training images carry an EXIF orientation tag, which is not applied: "
            "they are used as stored, as tf.io.decode_jpeg reads them when serving. Rotate the "
            'files themselves if they should be upright (docs/own_data.md, "Image folders").',
            survey.rotated,
            survey.sampled,
        )


def _eval_at(eval_store, num_eval, recipe, common):
    """`DataSource.eval_at` of a folder: the evaluation batches at the given indices, decoding
    only their images (batch `b` holds the listing's evaluation entries `[b B, (b + 1) B)`)."""
    batch_size = common["batch_size"]

    def eval_at(batches):
        rows = [np.arange(b * batch_size, min((b + 1) * batch_size, num_eval)) for b in batches]
        return eval_batches(eval_store.examples(np.concatenate(rows)), recipe, **common)

    return eval_at
