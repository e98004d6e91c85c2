"""Encoded image bytes (JPEG, PNG, ...) as uint8 pixels: the format test and the one decoder of
encoded records (TFRecord shards), with the channel conversion the image folders use."""

import tensorflow as tf

JPEG_MAGIC = b"\xff\xd8\xff"
"""The first bytes of every JPEG file (start-of-image marker, then the next marker's 0xFF)."""
JPEG_MARGIN = 1
"""Extra columns decoded on each side of a JPEG window (see `decode_jpeg_window`)."""


def is_jpeg(encoded):
    """Whether the string scalar tensor `encoded` starts with the JPEG signature (bool scalar)."""
    return tf.equal(tf.strings.substr(encoded, 0, len(JPEG_MAGIC)), JPEG_MAGIC)


def to_channels(image, channels):
    """uint8 RGB `[H, W, 3]` as `[H, W, channels]` (`channels=1`: `tf.image.rgb_to_grayscale`)."""
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    return tf.ensure_shape(image, [None, None, channels])


def decode_encoded(encoded, channels):
    """Decodes encoded image bytes (JPEG, PNG, BMP or the first frame of a GIF).

    Every image is decoded as RGB (grayscale replicated, alpha dropped) and then converted to
    `channels`, exactly as the image folders decode their files, so a shard written from a folder
    gives the folder's pixels.

    Args:
        encoded: string scalar tensor.
        channels: 1 or 3.

    Returns:
        uint8 tensor `[H, W, channels]`.
    """
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    return to_channels(image, channels)


def decode_jpeg_window(encoded, window, width, channels):
    """Decodes only the window `(top, left, height, width)` (int32 scalars) of a JPEG.

    `tf.image.decode_and_crop_jpeg` skips the blocks outside the window. It decodes one more
    column on each side (where the image has one) and cuts it off: libjpeg's "fancy" upsampling of
    subsampled chroma (4:2:0, 4:2:2) treats the edge of a decoded window as the image edge, so the
    window's first and last columns would otherwise differ from a full decode. With the margin the
    pixels equal those of `decode_encoded(encoded, channels)[top:top + height, left:left + width]`
    exactly.

    Args:
        encoded: string scalar tensor, a JPEG.
        window: int32 scalars `(top, left, height, width)` inside the image.
        width: int32 scalar, the image's width (`tf.image.extract_jpeg_shape(encoded)[1]`).
        channels: 1 or 3.

    Returns:
        uint8 tensor `[height, width, channels]` (the window's size).
    """
    top, left, crop_height, crop_width = window
    first = tf.maximum(left - JPEG_MARGIN, 0)
    last = tf.minimum(left + crop_width + JPEG_MARGIN, width)
    wider = tf.image.decode_and_crop_jpeg(
        encoded, tf.stack([top, first, crop_height, last - first]), channels=3
    )
    image = wider[:, left - first : left - first + crop_width, :]
    return to_channels(image, channels)
