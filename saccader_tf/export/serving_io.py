"""What the served functions check, feed the model and return (see `saccader_tf.export.savedmodel`).

The raw images are preprocessed by the data pipeline's own evaluation preprocessing
(`saccader_tf.data.preprocessing.preprocess_for_eval`, see docs/design.md, "Preprocessing"), and
encoded images are decoded by the image-folder source's rule
(`saccader_tf.data.image_bytes.decode_image_bytes`); this module adds the crop window, which maps
the model's glimpse boxes back to the caller's image, and the checks and output dict of the
endpoints.
"""

import tensorflow as tf

from saccader_tf.data.image_bytes import decode_image_bytes
from saccader_tf.data.preprocessing import crop_window, preprocess_for_eval
from saccader_tf.utils.errors import BadValueError

OUTPUT_KEYS = (
    "logits",
    "probabilities",
    "top_k_classes",
    "top_k_class_names",
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


def preprocess_encoded(image_bytes, *, channels, image_size, **preprocessing):
    """Decodes and preprocesses a batch of encoded images, one image at a time (their sizes differ).

    Args:
        image_bytes: string `[N]`, each the bytes of a JPEG, PNG, BMP or GIF file.
        channels: the model's channels (1 or 3; `decode_image_bytes`).
        image_size: the model's side `S`.
        **preprocessing: `mean`, `std`, `crop_fraction`, `resize_method` of `preprocess_images`.

    Returns:
        `(inputs, windows)`: float32 `[N, S, S, C]` model inputs and int32 `[N, 4]` crop windows
        `(top, left, crop_height, crop_width)`, one per image (`input_boxes` takes either form).
    """

    def one(contents):
        image = decode_image_bytes(contents, channels)[tf.newaxis]
        inputs, window = preprocess_images(image, image_size=image_size, **preprocessing)
        return inputs[0], tf.stack(window)

    return tf.map_fn(
        one,
        image_bytes,
        fn_output_signature=(
            tf.TensorSpec([image_size, image_size, channels], tf.float32),
            tf.TensorSpec([4], tf.int32),
        ),
    )


def input_boxes(boxes, window, image_size):
    """Maps model-input boxes `[N, ..., 4]` (int, `S x S` pixels) to float32 input-image pixels.

    `box * (h, w, h, w) / S + (top, left, top, left)`, where `(top, left, h, w)` is the crop window:
    four int32 scalars (`preprocess_images`: one window for the batch) or an int32 `[N, 4]` tensor
    (`preprocess_encoded`: one window per row).
    """
    if isinstance(window, (tuple, list)):
        window = tf.stack(window)
    top, left, crop_height, crop_width = tf.unstack(tf.cast(window, tf.float32), 4, axis=-1)
    offset = tf.stack([top, left, top, left], axis=-1)
    size = tf.stack([crop_height, crop_width, crop_height, crop_width], axis=-1)
    scale = size / float(image_size)
    if window.shape.rank == 2:  # [N, 4] against boxes [N, ..., 4]
        row_shape = [-1] + [1] * (boxes.shape.rank - 2) + [4]
        offset, scale = tf.reshape(offset, row_shape), tf.reshape(scale, row_shape)
    return tf.cast(boxes, tf.float32) * scale + offset


def class_name_table(class_names, num_classes):
    """The `K` class names the export serves: `class_names` as given, or the class indices as
    strings (`"0"`, `"1"`, ...) when there are none.

    Raises:
        BadValueError: `class_names` is given but does not hold exactly `num_classes` strings.
    """
    if class_names is None:
        return tuple(str(i) for i in range(num_classes))
    names = tuple(class_names)
    if len(names) != num_classes or not all(isinstance(name, str) for name in names):
        raise BadValueError(
            f"`class_names` needs one string per class ({num_classes}; model_dir's "
            f"preprocessing.json records them). Received: class_names={list(names)!r}"
        )
    return names


def serving_outputs(logits, cells, boxes, window, image_size, k, class_names=None):
    """The endpoint's output dict.

    Args:
        logits: `[N, K]` model logits.
        cells: int `[N, T]` glimpse cells.
        boxes: int `[N, T, 4]` glimpse boxes in model-input pixels.
        window: int32 `(top, left, crop_height, crop_width)` window of `preprocess_images`.
        image_size: the side `S` of the model the boxes are in.
        k: number of top classes.
        class_names: the `K` class names (`class_name_table`; `None`: the indices as strings).

    Returns:
        Dict with keys `OUTPUT_KEYS`: float32 `logits`/`probabilities` `[N, K]`, int32
        `top_k_classes`, string `top_k_class_names` and float32 `top_k_scores` `[N, k]`, float32
        `glimpse_boxes` `[N, T, 4]` in input-image pixels, int32 `glimpse_cells` `[N, T]`.
    """
    logits = tf.cast(logits, tf.float32)
    probabilities = tf.nn.softmax(logits, axis=-1)
    scores, classes = tf.math.top_k(probabilities, k=k)
    names = tf.constant(class_name_table(class_names, logits.shape[-1]), tf.string)
    return {
        "logits": logits,
        "probabilities": probabilities,
        "top_k_classes": tf.cast(classes, tf.int32),
        "top_k_class_names": tf.gather(names, classes),
        "top_k_scores": scores,
        "glimpse_boxes": input_boxes(boxes, window, image_size),
        "glimpse_cells": tf.cast(cells, tf.int32),
    }
