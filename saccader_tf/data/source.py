"""`DataSource`: the train / eval pipelines of one dataset plus what a model and an exporter
need."""

import dataclasses
from typing import Callable, Optional, Tuple

import numpy as np
import tensorflow as tf

from saccader_tf.data.normalization import normalize_images
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int


@dataclasses.dataclass(frozen=True, eq=False)
class DataSource:
    """One dataset, ready for training and evaluation.

    Training and evaluation batches are `(images, labels)`: `images` float32 `[B, S, S, C]`
    normalised as `(uint8 / 255 - mean) / std`, `labels` int32 `[B]`. Every dataset is finite (one
    epoch) and ends with `.prefetch(tf.data.AUTOTUNE)`; the trainer cuts its stream out of them
    (`saccader_tf.data.resumable_epochs.training_batches`).

    Attributes:
        train_epoch: the training pipeline, a function `(epoch, skip_batches=0) -> tf.data.Dataset`
            giving the batches of training epoch `epoch` (0-based) after its first
            `skip_batches`: shuffled, augmented, batched with `drop_remainder=True` (every batch
            has the full size: static shapes and no tiny last batch in the BatchNorm statistics).
            When the source states its epoch length (`train_size` and `batch_size`, as every
            built-in source does), order and augmentation are a pure function of the seed and
            `epoch`, so a resumed stage sees exactly the batches an uninterrupted one would. A
            hand-made source without them (see `fixed_epochs`) is read as
            `train_epoch(0).repeat()`, with a warning that a resume may see other batches. A
            source may also take `input_context=` (a `tf.distribute.InputContext`) and then give
            only that worker's per-replica batches of each global batch (the TFRecord source;
            `saccader_tf.data.resumable_epochs.takes_input_context`).
        eval: evaluation `tf.data.Dataset`, deterministic order, no augmentation, every example kept
            (the last batch may be smaller).
        num_classes: number of classes `K`; labels lie in `[0, K)`.
        image_size: side `S` of the square model input.
        channels: number of channels `C`.
        mean: per-channel mean, a tuple of `C` floats in `[0, 1]` units.
        std: per-channel standard deviation, a tuple of `C` floats in `[0, 1]` units.
        name: the dataset name given to `make_source`.
        eval_boxes: `None`, or an int32 numpy array `[N_eval, 4]` of object boxes
            `(ymin, xmin, ymax, xmax)` in pixels of the `S x S` input, end-exclusive, aligned with
            the order of `eval` (cluttered MNIST).
        train_size: number of training examples (before `drop_remainder`), or `None` when unknown.
        eval_size: number of evaluation examples, or `None` when unknown.
        class_names: tuple of `K` class names, or `None` when the dataset has none.
        crop_fraction: fraction of the shorter image side that evaluation centre-crops before
            resizing to `S` (`0.875` for the `imagenet` recipe, `1.0` when images already are
            `S x S`), or `None` when evaluation resizes the whole image (the `light` and `none`
            recipes); an exporter applies the same to raw images.
        settings: JSON-serialisable dict of every setting that decides which batches training
            sees and how images are preprocessed (dataset, sizes, seed, preprocessing recipe,
            channels, ...).
            A resumed stage compares it with the one it started with, so a changed data setting
            is refused instead of silently training on other batches. `{}` for hand-made sources.
        batch_size: examples per training batch; with `train_size` it gives the epoch length
            `train_size // batch_size` (`None` for hand-made sources: the length of
            `train_epoch(0)` is used).
        eval_at: `None`, or a function `(batch indices) -> tf.data.Dataset` of those batches of
            `eval` (sorted indices) that reads and prepares only their examples (an image folder):
            a capped evaluation then skips the other images (`data.eval_subsets.spread_eval`).
    """

    train_epoch: Callable[..., tf.data.Dataset]
    eval: tf.data.Dataset
    num_classes: int
    image_size: int
    channels: int
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    name: str
    eval_boxes: Optional[np.ndarray] = None
    train_size: Optional[int] = None
    eval_size: Optional[int] = None
    class_names: Optional[Tuple[str, ...]] = None
    crop_fraction: Optional[float] = 1.0
    settings: dict = dataclasses.field(default_factory=dict)
    batch_size: Optional[int] = None
    eval_at: Optional[Callable[..., tf.data.Dataset]] = None

    def __post_init__(self):
        if not callable(self.train_epoch):
            raise TypeError(
                "`train_epoch` must be a function (epoch, skip_batches=0) -> tf.data.Dataset; wrap "
                "a plain dataset of training batches as `fixed_epochs(dataset)`. "
                f"Received: train_epoch={self.train_epoch!r}"
            )
        for field in ("num_classes", "image_size", "channels"):
            check_int(field, getattr(self, field))
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise BadValueError(
                "`mean` and `std` need one value per channel. "
                f"Received: channels={self.channels}, mean={self.mean}, std={self.std}"
            )
        if self.eval_boxes is not None and np.shape(self.eval_boxes)[1:] != (4,):
            raise BadValueError(
                "`eval_boxes` must have shape [N_eval, 4]. "
                f"Received: eval_boxes.shape={np.shape(self.eval_boxes)}"
            )

    def normalize(self, images):
        """Applies this source's normalisation to raw pixels.

        Args:
            images: `uint8` tensor `[..., C]` (values in `[0, 255]`).

        Returns:
            `float32` tensor `[..., C]`, `(images / 255 - mean) / std`.
        """
        return normalize_images(images, self.mean, self.std)


def fixed_epochs(dataset):
    """A `train_epoch` for a hand-made source whose every epoch is the same finite dataset.

    Args:
        dataset: a finite `tf.data.Dataset` of training batches `(images [B, S, S, C], labels [B])`.

    Returns:
        A function `(epoch, skip_batches=0) -> dataset.skip(skip_batches)`.

    Example:
        >>> source = DataSource(train_epoch=fixed_epochs(batches), eval=batches, num_classes=3,
        ...                     image_size=24, channels=1, mean=(0.0,), std=(1.0,), name="mine")
    """

    def train_epoch(epoch, skip_batches=0):
        del epoch  # every epoch is the same dataset
        return dataset.skip(skip_batches) if skip_batches else dataset

    return train_epoch


CHANNEL_CHOICES = ("auto", 1, 3)
"""What a folder or TFDS source accepts as `channels`."""


def check_channels(channels):
    """Raises `ValueError` unless `channels` is one of `CHANNEL_CHOICES` (folder and TFDS
    sources)."""
    if channels not in CHANNEL_CHOICES:
        raise BadValueError(f"`channels` must be 'auto', 1 or 3. Received: channels={channels!r}")
