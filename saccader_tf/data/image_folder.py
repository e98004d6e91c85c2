"""Images in class folders, `<root>/train/<class>/*` and `<root>/val/<class>/*`, as a `DataSource`."""

import numpy as np
import tensorflow as tf

from saccader_tf.data.image_decoding import decode_image_files
from saccader_tf.data.image_folder_listing import list_image_folder
from saccader_tf.data.imagenet_pipeline import imagenet_eval_pipeline
from saccader_tf.data.imagenet_pipeline import imagenet_train_pipeline
from saccader_tf.data.imagenet_preprocessing import CROP_FRACTION
from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.resumable_epochs import epoch_order
from saccader_tf.data.source import DataSource
from saccader_tf.data.source import check_positive_int


def image_folder_source(
    root,
    *,
    image_size,
    batch_size,
    seed=0,
    channels=3,
    skip_bad_files=False,
    check_files=True,
    name=None,
):
    """An image folder with the ImageNet recipe.

    Layout: `<root>/train/<class>/<image>` and `<root>/val/<class>/<image>` (`validation/` or
    `test/` are used when `val/` is missing). Images are `.jpg/.jpeg/.png/.bmp/.gif` (any case), found
    recursively in each class folder; other files are ignored. Class names are the sorted sub-folder
    names of `train/` (hidden folders skipped); the evaluation split must have the same ones.

    Unreadable files are handled in two places (see `list_image_folder` and `decode_image_files`):
    1. when listing, every file's size and signature are checked (one 8-byte read each; turn it off
       with `check_files=False` for very large folders on slow disks): empty files and non-images
       raise `ValueError("Cannot read image file <path>: ...")` at once;
    2. files with a valid signature but a corrupt body fail when decoded in the pipeline; the error
       (a `tf.errors.InvalidArgumentError`) names the file too.
    With `skip_bad_files=True` both kinds are logged and left out instead. `train_size` and
    `eval_size` count the files that passed step 1.

    Args:
        root: the folder holding `train/` and `val/`.
        image_size: output side `S`.
        batch_size: examples per batch; at most the number of training images.
        seed: integer seed of the file shuffle (reshuffled every epoch) and the augmentation.
        channels: 3 (default; grayscale and RGBA images are converted) or 1.
        skip_bad_files: skip unreadable files with a warning instead of raising.
        check_files: check the signature of every file while listing.
        name: `DataSource.name`; `None` = `"folder:<root>"`.

    Returns:
        A `DataSource` yielding `(float32 [B, S, S, C], int32 [B])`, normalised with the ImageNet
        mean/std (3 channels) or `0.5`/`0.5` (1 channel), with `class_names` set.

    Example:
        >>> source = image_folder_source("/data/flowers", image_size=224, batch_size=32)
    """
    check_positive_int("image_size", image_size)
    check_positive_int("batch_size", batch_size)
    listing = list_image_folder(root, check_files=check_files, skip_bad_files=skip_bad_files)
    if batch_size > len(listing.train_paths):
        raise ValueError(
            "`batch_size` is larger than the number of training images, so the training pipeline "
            "(which drops the last partial batch) would be empty. Received: "
            f"batch_size={batch_size}, training images={len(listing.train_paths)}"
        )
    mean, std = default_normalization(channels)
    common = dict(image_size=image_size, batch_size=batch_size, mean=mean, std=std)
    decode = dict(channels=channels, skip_bad_files=skip_bad_files)

    train_files = tf.data.Dataset.from_tensor_slices(
        (list(listing.train_paths), tf.constant(listing.train_labels, tf.int32))
    ).shuffle(len(listing.train_paths), seed=seed, reshuffle_each_iteration=True)
    eval_files = tf.data.Dataset.from_tensor_slices(
        (list(listing.eval_paths) or tf.constant([], tf.string),
         tf.constant(listing.eval_labels, tf.int32)))
    train_paths, train_labels = np.array(listing.train_paths), np.array(listing.train_labels, np.int32)

    def train_epoch(epoch, skip_batches=0):
        order = epoch_order(len(train_paths), batch_size, seed, epoch, skip_batches)
        files = tf.data.Dataset.from_tensor_slices((train_paths[order], train_labels[order]))
        return imagenet_train_pipeline(decode_image_files(files, **decode), seed=seed, epoch=epoch,
                                       first_index=skip_batches * batch_size, **common)

    return DataSource(
        train=imagenet_train_pipeline(decode_image_files(train_files, **decode), seed=seed,
                                      **common), train_epoch=train_epoch,
        eval=imagenet_eval_pipeline(decode_image_files(eval_files, **decode), **common),
        num_classes=len(listing.class_names), image_size=image_size, channels=channels,
        mean=mean, std=std, name=name or f"folder:{root}",
        train_size=len(listing.train_paths), eval_size=len(listing.eval_paths),
        class_names=listing.class_names, crop_fraction=CROP_FRACTION,
    )
