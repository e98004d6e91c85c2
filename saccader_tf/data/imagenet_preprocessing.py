"""The ImageNet recipe, per image: Inception-style random crop + flip for training, centre crop for
evaluation, resize to `S`, normalise.

All randomness is stateless (`tf.random.experimental.stateless_*` / `tf.image.stateless_*`) and
driven by an explicit `[2]` seed per image, so a pipeline that derives the seeds from one integer
reproduces.
"""

import tensorflow as tf

from saccader_tf.data.normalization import normalize_images

CROP_FRACTION = 0.875
"""Fraction of the shorter side kept by the evaluation centre crop (224 / 256)."""

AREA_RANGE = (0.08, 1.0)
ASPECT_RATIO_RANGE = (3.0 / 4.0, 4.0 / 3.0)
MAX_CROP_ATTEMPTS = 10
TF1_MAX_CROP_ATTEMPTS = 100
"""Attempts of the official TF1 code's Inception crop (the `imagenet_tf1` recipe)."""


def tf1_crop_fraction(image_size):
    """The official TF1 code's evaluation crop for side `S`: `S / (S + floor(S / 10))`.

    224 / (224 + 22) = 224 / 246 ≈ 0.911 (a padding of about a tenth of the side, where the
    `imagenet` recipe keeps 0.875 = 224 / 256 at every size).
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(
            f"`image_size` must be a positive int. Received: image_size={image_size!r}"
        )
    return image_size / (image_size + image_size // 10)


def center_crop(images, crop_fraction=CROP_FRACTION):
    """Central square crop of side `round(crop_fraction * min(H, W))` (at least 1 pixel).

    Equivalent to resizing the shorter side to `S / crop_fraction` and cropping the central `S x S`.

    Args:
        images: tensor `[H, W, C]` or `[N, H, W, C]`.
        crop_fraction: float in `(0, 1]`.

    Returns:
        tensor `[c, c, C]` or `[N, c, c, C]` of the input dtype.
    """
    if not 0.0 < crop_fraction <= 1.0:
        raise ValueError(
            f"`crop_fraction` must be in (0, 1]. Received: crop_fraction={crop_fraction}"
        )
    shape = tf.shape(images)
    height, width = shape[-3], shape[-2]
    shorter = tf.cast(tf.minimum(height, width), tf.float32)
    side = tf.maximum(tf.cast(tf.round(crop_fraction * shorter), tf.int32), 1)
    top = (height - side) // 2
    left = (width - side) // 2
    return images[..., top : top + side, left : left + side, :]


def random_crop(image, seed, *, max_attempts=MAX_CROP_ATTEMPTS, fallback_fraction=CROP_FRACTION):
    """Inception-style random crop: area in `[0.08, 1]` of the image, aspect ratio in `[3/4, 4/3]`.

    Uses `tf.image.stateless_sample_distorted_bounding_box` with the whole image as the object box
    (`min_object_covered=0.1`, `max_attempts` attempts); when no attempt fits it falls back to
    `center_crop(image, fallback_fraction)`.

    Args:
        image: tensor `[H, W, C]`.
        seed: int32/int64 tensor `[2]`.
        max_attempts: crop attempts (10 here; the TF1 code's `imagenet_tf1` recipe uses 100).
        fallback_fraction: the centre crop used when every attempt fails.

    Returns:
        tensor `[h, w, C]` of the input dtype.
    """
    shape = tf.shape(image)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        image_size=shape,
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
    return tf.cond(
        failed,
        lambda: center_crop(image, fallback_fraction),
        lambda: tf.slice(image, begin, size),
    )


def resize(image, image_size):
    """Bilinear resize to `[S, S, C]`, float32 in the input's value range."""
    return tf.image.resize(image, [image_size, image_size], method="bilinear")


def preprocess_for_train(image, seed, *, image_size, mean, std):
    """Random crop, random horizontal flip, resize, normalise.

    Args:
        image: uint8 tensor `[H, W, C]`.
        seed: int32/int64 tensor `[2]`.
        image_size: output side `S`.
        mean: per-channel mean (`[0, 1]` units).
        std: per-channel standard deviation (`[0, 1]` units).

    Returns:
        float32 tensor `[S, S, C]`.
    """
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    image = resize(random_crop(image, crop_seed), image_size)
    image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    image = normalize_images(image, mean, std)
    return tf.ensure_shape(image, [image_size, image_size, len(mean)])


def preprocess_for_eval(image, *, image_size, mean, std, crop_fraction=CROP_FRACTION):
    """Central crop, resize, normalise.

    Args:
        image: uint8 tensor `[H, W, C]`.
        image_size: output side `S`.
        mean: per-channel mean (`[0, 1]` units).
        std: per-channel standard deviation (`[0, 1]` units).
        crop_fraction: fraction of the shorter side kept.

    Returns:
        float32 tensor `[S, S, C]`.
    """
    image = resize(center_crop(image, crop_fraction), image_size)
    image = normalize_images(image, mean, std)
    return tf.ensure_shape(image, [image_size, image_size, len(mean)])
