"""Decoding the bytes of one encoded image (JPEG, PNG, BMP or GIF) with TensorFlow ops only.

The rule is the image-folder source's (`saccader_tf.data.image_decoding.decode_image_file`):
decode to RGB (a GIF's first frame; grayscale and palette images expanded, alpha dropped), then
convert to one channel with `tf.image.rgb_to_grayscale` when the model takes one. The SavedModel's
encoded-image endpoint (`saccader_tf.export`) decodes the request's bytes with it inside its graph,
so a served file gets the pixels that training and evaluation got from the same file.
"""

import tensorflow as tf

IMAGE_CHANNELS = (1, 3)
"""Channel counts an image can be decoded to."""


def decode_image_bytes(contents, channels):
    """Decodes one encoded image.

    Args:
        contents: string scalar tensor, the bytes of a JPEG, PNG, BMP or GIF file.
        channels: 1 or 3.

    Returns:
        uint8 tensor `[H, W, channels]`. Bytes TensorFlow cannot decode raise
        `InvalidArgumentError` when the op runs.
    """
    if channels not in IMAGE_CHANNELS:
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    return tf.ensure_shape(image, [None, None, channels])
