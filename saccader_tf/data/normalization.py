"""Per-channel image normalisation shared by every data source and the exporter.

A source turns raw `uint8` pixels into model inputs with

    image_float = (uint8 / 255 - mean) / std

per channel. `DataSource.mean` / `DataSource.std` record the two tuples so that an exported model
can accept raw `uint8` images and apply the same transform inside its graph.
"""

import tensorflow as tf

from saccader_tf.utils.validation import check_int

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""RGB mean of ImageNet in `[0, 1]` units (the torchvision / Keras-applications convention)."""

IMAGENET_STD = (0.229, 0.224, 0.225)
"""RGB standard deviation of ImageNet in `[0, 1]` units."""


def default_normalization(channels):
    """The `(mean, std)` of the image folder and TFDS sources for images with `channels`
    channels.

    Args:
        channels: number of image channels.

    Returns:
        `(mean, std)`, two tuples of length `channels`: the ImageNet statistics for 3 channels, and
        `0.5` / `0.5` per channel (maps `[0, 1]` to `[-1, 1]`) otherwise.
    """
    check_int("channels", channels)
    if channels == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    return (0.5,) * channels, (0.5,) * channels


def normalize_images(images, mean, std):
    """Scales pixel values in `[0, 255]` to `(x / 255 - mean) / std`.

    Args:
        images: `uint8` or float tensor `[..., C]` with values in `[0, 255]`.
        mean: sequence of `C` floats (in `[0, 1]` units).
        std: sequence of `C` positive floats (in `[0, 1]` units).

    Returns:
        `float32` tensor with the shape of `images`.
    """
    images = tf.cast(images, tf.float32) / 255.0
    mean = tf.constant(mean, tf.float32)
    std = tf.constant(std, tf.float32)
    return (images - mean) / std
