"""Crop windows: the evaluation centre crop and the Inception-style random crop (of a decoded
image, or of encoded bytes, where a JPEG is decoded only inside the window).

The recipes that use them are in `saccader_tf.data.preprocessing`. A window is
`(top, left, height, width)` in pixels of the image.
"""

import tensorflow as tf

from saccader_tf.data.encoded_images import decode_encoded, decode_jpeg_window, is_jpeg
from saccader_tf.utils.errors import BadValueError

CROP_FRACTION = 0.875
"""Fraction of the shorter side kept by the `imagenet` recipe's evaluation centre crop (224/256)."""
AREA_RANGE = (0.08, 1.0)
ASPECT_RATIO_RANGE = (3.0 / 4.0, 4.0 / 3.0)
MAX_CROP_ATTEMPTS = 10


def crop_window(height, width, crop_fraction):
    """The evaluation centre crop as a window of an `H x W` image.

    Args:
        height, width: int32 scalars (tensors or ints), the image size.
        crop_fraction: Python float in `(0, 1]` (central square crop), or `None` (no crop: the
            whole image, as the `none` and `light` recipes evaluate).

    Returns:
        int32 scalars `(top, left, crop_height, crop_width)`: for a float, a square of side
        `c = max(round(crop_fraction * min(H, W)), 1)` (round half to even) at
        `((H - c) // 2, (W - c) // 2)`; for `None`, `(0, 0, H, W)`.
    """
    height, width = tf.cast(height, tf.int32), tf.cast(width, tf.int32)
    if crop_fraction is None:
        return tf.constant(0, tf.int32), tf.constant(0, tf.int32), height, width
    _check_crop_fraction(crop_fraction)
    shorter = tf.cast(tf.minimum(height, width), tf.float32)
    side = tf.maximum(tf.cast(tf.round(crop_fraction * shorter), tf.int32), 1)
    return (height - side) // 2, (width - side) // 2, side, side


def center_crop(images, crop_fraction=CROP_FRACTION):
    """The central square `crop_window` of `images`.

    Equivalent to resizing the shorter side to `S / crop_fraction` and cropping the central `S x S`.

    Args:
        images: tensor `[H, W, C]` or `[N, H, W, C]`.
        crop_fraction: float in `(0, 1]`.

    Returns:
        tensor `[c, c, C]` or `[N, c, c, C]` of the input dtype.
    """
    _check_crop_fraction(crop_fraction)
    shape = tf.shape(images)
    top, left, side, _ = crop_window(shape[-3], shape[-2], crop_fraction)
    return images[..., top : top + side, left : left + side, :]


def random_crop_window(
    shape, seed, *, max_attempts=MAX_CROP_ATTEMPTS, fallback_fraction=CROP_FRACTION
):
    """The window of the Inception-style random crop of an image of shape `shape`: area in
    `[0.08, 1]` of the image, aspect ratio in `[3/4, 4/3]`.

    Uses `tf.image.stateless_sample_distorted_bounding_box` with the whole image as the object box
    (`min_object_covered=0.1`, `max_attempts` attempts); when no attempt fits it falls back to the
    centre crop `crop_window(H, W, fallback_fraction)`. A function of `(H, W)` and `seed` only, so
    a decoded image and the JPEG it came from get the same window.

    Args:
        shape: int32 tensor `[3]`, `(H, W, C)` of the image (`C` is not used).
        seed: int32/int64 tensor `[2]`.
        max_attempts: crop attempts (10 here; the TF1 code's `imagenet_tf1` recipe uses 100).
        fallback_fraction: the centre crop used when every attempt fails.

    Returns:
        int32 scalars `(top, left, height, width)`.
    """
    shape = tf.cast(shape, tf.int32)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        image_size=tf.concat([shape[:2], [1]], 0),  # the channel count plays no part
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, shape=[1, 1, 4]),
        seed=seed,
        min_object_covered=0.1,
        aspect_ratio_range=ASPECT_RATIO_RANGE,
        area_range=AREA_RANGE,
        max_attempts=max_attempts,
        use_image_if_no_bounding_boxes=True,
    )
    # The op returns the whole image when every attempt failed.
    failed = tf.reduce_all(tf.equal(size[:2], shape[:2]))
    fallback = tf.stack(crop_window(shape[0], shape[1], fallback_fraction))
    sampled = tf.stack([begin[0], begin[1], size[0], size[1]])
    window = tf.where(failed, fallback, sampled)
    return tuple(tf.unstack(window))


def random_crop(image, seed, *, max_attempts=MAX_CROP_ATTEMPTS, fallback_fraction=CROP_FRACTION):
    """Inception-style random crop of a decoded image: the window `random_crop_window` samples.

    Args:
        image: tensor `[H, W, C]`.
        seed: int32/int64 tensor `[2]`.
        max_attempts: crop attempts (10 here; the TF1 code's `imagenet_tf1` recipe uses 100).
        fallback_fraction: the centre crop used when every attempt fails.

    Returns:
        tensor `[h, w, C]` of the input dtype.
    """
    window = random_crop_window(
        tf.shape(image), seed, max_attempts=max_attempts, fallback_fraction=fallback_fraction
    )
    return _cut(image, window)


def random_crop_encoded(
    encoded, seed, *, channels, max_attempts=MAX_CROP_ATTEMPTS, fallback_fraction=CROP_FRACTION
):
    """`random_crop` of encoded image bytes; a JPEG is decoded only inside the crop window.

    For a JPEG, `tf.image.extract_jpeg_shape` reads the size from the header,
    `random_crop_window` samples the window from it (the same window as for the decoded image,
    the same seed), and `tf.image.decode_and_crop_jpeg` decodes that window alone. Other formats
    (PNG, ...) are decoded whole (`decode_encoded`) and cropped by `random_crop`.

    Args:
        encoded: string scalar tensor.
        seed: int32/int64 tensor `[2]`.
        channels: 1 or 3.
        max_attempts, fallback_fraction: as for `random_crop`.

    Returns:
        uint8 tensor `[h, w, channels]`.
    """
    crop_args = dict(max_attempts=max_attempts, fallback_fraction=fallback_fraction)

    def jpeg():
        shape = tf.image.extract_jpeg_shape(encoded)
        window = random_crop_window(shape, seed, **crop_args)
        return decode_jpeg_window(encoded, window, shape[1], channels)

    def other():
        return random_crop(decode_encoded(encoded, channels), seed, **crop_args)

    return tf.cond(is_jpeg(encoded), jpeg, other)


def _cut(image, window):
    top, left, height, width = window
    return image[top : top + height, left : left + width, :]


def _check_crop_fraction(crop_fraction):
    if not 0.0 < crop_fraction <= 1.0:
        raise BadValueError(
            f"`crop_fraction` must be in (0, 1]. Received: crop_fraction={crop_fraction}"
        )
