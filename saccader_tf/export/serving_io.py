"""What the served functions check, feed the model and return (see `saccader_tf.export.savedmodel`).

The raw images are preprocessed by the data pipeline's own evaluation preprocessing
(`saccader_tf.data.preprocessing.preprocess_for_eval`, see docs/design.md, "Preprocessing"); this
module adds its crop window, which maps the model's glimpse boxes back to the caller's image, and
the checks and output dict of the endpoints.
"""

import tensorflow as tf

from saccader_tf.data.preprocessing import crop_window, preprocess_for_eval

OUTPUT_KEYS = (
    "logits",
    "probabilities",
    "top_k_classes",
    "top_k_scores",
    "glimpse_boxes",
    "glimpse_cells",
)


def check_images(images, channels, endpoint, dtype=tf.uint8):
    """Checks that `images` is a non-empty-sided `dtype` `[N, H, W, channels]` tensor.

    Static shape errors raise `ValueError` at trace time; the rank, channel count and `H, W >= 1`
    are also asserted at run time (`InvalidArgumentError`), each message naming what is expected.
    """
    expected = f"{endpoint} expects {dtype.name} images [N, H, W, {channels}] with H, W >= 1"
    if images.dtype != dtype:
        raise TypeError(f"{expected}. Received: dtype={images.dtype.name}")
    rank, last = images.shape.rank, images.shape[-1] if images.shape.rank else None
    if (rank is not None and rank != 4) or (last is not None and last != channels):
        raise ValueError(f"{expected}. Received: shape={images.shape}")
    shape = tf.shape(images)
    checks = [
        tf.debugging.assert_equal(tf.size(shape), 4, message=f"{expected}; got another rank"),
        tf.debugging.assert_equal(
            shape[-1], channels, message=f"{expected}; got another channel count"
        ),
        tf.debugging.assert_greater(
            tf.reduce_min(shape[1:3]), 0, message=f"{expected}; got H or W = 0"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(images)


def check_pixel_range(images, endpoint):
    """Asserts (at run time) that float `images` hold finite pixel values in `[0, 255]`."""
    message = (
        f"{endpoint} expects pixel values in [0, 255] (the uint8 scale, not [0, 1]); the images "
        "hold a value outside that range, NaN or Inf"
    )
    check = tf.debugging.Assert(
        tf.reduce_all((images >= 0.0) & (images <= 255.0)),
        [message, "min:", tf.reduce_min(images), "max:", tf.reduce_max(images)],
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def preprocess_images(
    images, *, image_size, mean, std, crop_fraction=1.0, resize_method="bilinear"
):
    """The evaluation preprocessing of a batch of raw images, with its crop window.

    Args:
        images: uint8 (or float in `[0, 255]`) `[N, H, W, C]`.
        image_size: the model's side `S`.
        mean, std: per-channel tuples (`[0, 1]` units).
        crop_fraction: fraction of the shorter side kept by a central square crop, or `None` for
            no crop (resize only).
        resize_method: `"bilinear"` (default) or `"bicubic"` (the `imagenet_tf1` recipe).

    Returns:
        `(inputs, window)`: float32 `[N, S, S, C]` model inputs
        (`saccader_tf.data.preprocessing.preprocess_for_eval`) and the int32
        `(top, left, crop_height, crop_width)` window of the input image they were cut from
        (`saccader_tf.data.preprocessing.crop_window`).
    """
    shape = tf.shape(images)
    window = crop_window(shape[1], shape[2], crop_fraction)
    inputs = preprocess_for_eval(
        images,
        image_size=image_size,
        mean=mean,
        std=std,
        crop_fraction=crop_fraction,
        resize_method=resize_method,
    )
    return inputs, window


def input_boxes(boxes, window, image_size):
    """Maps model-input boxes `[..., 4]` (int, `S x S` pixels) to float32 input-image pixels.

    `box * (h, w, h, w) / S + (top, left, top, left)`, where `(top, left, h, w)` is the crop window.
    """
    top, left, crop_height, crop_width = (tf.cast(v, tf.float32) for v in window)
    offset = tf.stack([top, left, top, left])
    scale = tf.stack([crop_height, crop_width, crop_height, crop_width]) / float(image_size)
    return tf.cast(boxes, tf.float32) * scale + offset


def serving_outputs(logits, cells, boxes, window, image_size, k):
    """The endpoint's output dict.

    Args:
        logits: `[N, K]` model logits.
        cells: int `[N, T]` glimpse cells.
        boxes: int `[N, T, 4]` glimpse boxes in model-input pixels.
        window: int32 `(top, left, crop_height, crop_width)` window of `preprocess_images`.
        image_size: the side `S` of the model the boxes are in.
        k: number of top classes.

    Returns:
        Dict with keys `OUTPUT_KEYS`: float32 `logits`/`probabilities` `[N, K]`, int32
        `top_k_classes` and float32 `top_k_scores` `[N, k]`, float32 `glimpse_boxes` `[N, T, 4]` in
        input-image pixels, int32 `glimpse_cells` `[N, T]`.
    """
    logits = tf.cast(logits, tf.float32)
    probabilities = tf.nn.softmax(logits, axis=-1)
    scores, classes = tf.math.top_k(probabilities, k=k)
    return {
        "logits": logits,
        "probabilities": probabilities,
        "top_k_classes": tf.cast(classes, tf.int32),
        "top_k_scores": scores,
        "glimpse_boxes": input_boxes(boxes, window, image_size),
        "glimpse_cells": tf.cast(cells, tf.int32),
    }
