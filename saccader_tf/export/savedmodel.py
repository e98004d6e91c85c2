"""Exporting a trained Saccader as a TensorFlow SavedModel that serves raw `uint8` images.

The SavedModel written by `export_model` needs only TensorFlow to load and run
(`tf.saved_model.load(export_dir)`); it holds the preprocessing, the model in inference mode (the
deterministic learned policy) and the mapping of glimpse boxes back to the caller's image.

Endpoints (also the SavedModel's signatures):

* `serving_default(images)`: `images` uint8 `[N, H, W, C]` (any `N`, `H`, `W`; `C` fixed) →
  `{"logits": float32 [N, K], "probabilities": float32 [N, K], "top_k_classes": int32 [N, k],
  "top_k_scores": float32 [N, k], "glimpse_boxes": float32 [N, T, 4],
  "glimpse_cells": int32 [N, T]}` with `T` the model's `num_glimpses` and `k = min(top_k, K)`.
* `serve_float(images)`: the same for float32 `images` holding pixel values in `[0, 255]` (the
  uint8 scale, not `[0, 1]`); a value outside that range, NaN or Inf fails with an
  `InvalidArgumentError` saying so (NumPy float or int16 arrays given to the uint8 endpoints are
  cast to uint8 by TensorFlow without any check: use this endpoint for them).
* `serve_glimpses(images, num_glimpses)`: the same outputs for a scalar int32 `num_glimpses` in
  `[1, T_max]` (`T_max = min(max_glimpses, grid cells)`); `T` is dynamic in the output shapes. The
  glimpse loop is a Python loop (`T` must be static when tracing), so the graph holds one unrolled
  loop per `T` selected with `tf.switch_case`; the BagNet / attention network / mixer run once,
  outside the switch. Only exported when the model's policy takes glimpses (not for `"full"`).

The served `logits` are the glimpse policy's (mean over the T glimpses); the BagNet's full-image
logits are not served, except by a model built with `policy="full"`, whose `logits` then are the
full-image logits of the weights exported: after stage 3
(`saccader_tf.model_dir.stage_files.load_trained_saccader`) the BagNet as stage 3 left it, not
stage 1's full-image classifier (see `Saccader`, "Which network").

A `SaccaderClassNet` is exported the same way, with `S` its classifier's size `S_cls`: the served
`logits` (and probabilities, top-k) are the ClassNet's (its classifier's logits averaged over the
T glimpses; `serve_glimpses` too), `glimpse_boxes` / `glimpse_cells` are its Saccader's (the boxes
mapped from the Saccader's `S_sac` pixels to the input image), and one more output,
`"classifier_boxes"` float32 `[N, T, 4]`, gives the windows the classifier's glimpses were cut from
(`S_cls` pixels mapped to the input image).

Preprocessing (inside the graph, as the evaluation pipeline does it): central square crop of side
`round(crop_fraction * min(H, W))` (at least 1 pixel) at offset `((H - c) // 2, (W - c) // 2)` (no
crop when `crop_fraction` is `None`: the `none` and `light` recipes resize the whole image),
bilinear resize (half-pixel centres, no antialiasing; bicubic for the `imagenet_tf1` recipe:
`resize_method`) to `S x S`, `(x / 255 - mean) / std`.
Glimpse boxes `(ymin, xmin, ymax, xmax)`, end-exclusive, are returned in the input image's own pixel
coordinates: `box_input = box_model * (h, w, h, w) / S + (top, left, top, left)` for the crop window
`(top, left, h, w)` (not clipped to the image: a
receptive field may extend past the border).
"""

import keras
import tensorflow as tf

from saccader_tf.data.normalization import normalize_images
from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.utils.validation import check_int

DEFAULT_MAX_GLIMPSES = 12
"""Largest `num_glimpses` served by `serve_glimpses` (capped at the number of grid cells)."""

OUTPUT_KEYS = (
    "logits",
    "probabilities",
    "top_k_classes",
    "top_k_scores",
    "glimpse_boxes",
    "glimpse_cells",
)


def export_model(
    saccader,
    export_dir,
    *,
    mean,
    std,
    crop_fraction=1.0,
    top_k=5,
    max_glimpses=DEFAULT_MAX_GLIMPSES,
    resize_method="bilinear",
):
    """Writes `saccader` as a SavedModel serving raw uint8 images (see the module docstring).

    Args:
        saccader: a `Saccader`, `DRAM` or `SaccaderClassNet` (built or not; it is called once
            before tracking).
        export_dir: directory of the SavedModel.
        mean: per-channel mean, `C` floats in `[0, 1]` units (`DataSource.mean`).
        std: per-channel standard deviation, `C` positive floats (`DataSource.std`).
        crop_fraction: central-crop fraction of the shorter side, in `(0, 1]`, or `None` for a plain
            resize of the whole image (`DataSource.crop_fraction`).
        top_k: number of top classes returned (`k = min(top_k, K)`).
        max_glimpses: largest `num_glimpses` of `serve_glimpses` (capped at the number of grid
            cells).
        resize_method: `"bilinear"` (default) or `"bicubic"` (the `imagenet_tf1` recipe's;
            `saccader_tf.data.preprocessing.resize_method_of(recipe)`).

    Returns:
        `export_dir`.

    Note:
        The float dtype is rejected by the signature itself: a float `tf.Tensor` raises `TypeError`
        ("Can not cast TensorSpec(..., dtype=tf.float32 ...) to
        TensorSpec(shape=(None, None, None, C), dtype=tf.uint8 ...)"), as do a wrong rank or
        channel count, before the graph runs. A *NumPy* float array passed to the loaded function
        (or to its signature) is instead converted to uint8 by TensorFlow's argument binding (values
        truncated, no error): pass uint8 arrays or tensors, or use `serve_float`, which checks the
        range.
    """
    _check_export_args(saccader, mean, std, crop_fraction, top_k, max_glimpses)
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    k = min(top_k, saccader.num_classes)
    _build(saccader)
    archive = keras.export.ExportArchive()
    archive.track(saccader)
    images_spec = tf.TensorSpec(
        [None, None, None, saccader.input_channels], tf.uint8, name="images"
    )

    def prepare(images, endpoint, dtype=tf.uint8):
        images = check_images(images, saccader.input_channels, endpoint, dtype)
        if dtype != tf.uint8:
            images = check_pixel_range(images, endpoint)
        return preprocess_images(
            images,
            image_size=saccader.image_size,
            mean=mean,
            std=std,
            crop_fraction=crop_fraction,
            resize_method=resize_method,
        )

    # A Saccader-ClassNet: boxes in its Saccader's pixels, plus the classifier's cut boxes.
    chooser = saccader.saccader if isinstance(saccader, SaccaderClassNet) else saccader

    def outputs_of(logits, cells, boxes, window, classifier_boxes=None):
        served = serving_outputs(logits, cells, boxes, window, chooser.image_size, k)
        if classifier_boxes is not None:
            served["classifier_boxes"] = input_boxes(classifier_boxes, window, saccader.image_size)
        return served

    def serving_default(images, endpoint="serving_default", dtype=tf.uint8):
        inputs, window = prepare(images, endpoint, dtype)
        outputs = saccader(inputs, training=False)
        return outputs_of(
            outputs["logits"],
            outputs["cells"],
            outputs["glimpse_boxes"],
            window,
            outputs.get("classifier_boxes"),
        )

    def serve_float(images):
        return serving_default(images, "serve_float", tf.float32)

    archive.add_endpoint("serving_default", serving_default, input_signature=[images_spec])
    archive.add_endpoint(
        "serve_float",
        serve_float,
        input_signature=[
            tf.TensorSpec([None, None, None, saccader.input_channels], tf.float32, name="images")
        ],
    )
    if chooser.policy.uses_glimpses:
        largest = max_served_glimpses(saccader, max_glimpses)

        def serve_glimpses(images, num_glimpses):
            inputs, window = prepare(images, "serve_glimpses")
            logits, cells = _unroll_dynamic(saccader, inputs, num_glimpses, largest)
            boxes = chooser.boxes(cells)
            if chooser is saccader:
                return outputs_of(logits, cells, boxes, window)
            cut = saccader.extraction.glimpse_boxes(boxes)
            return outputs_of(logits, cells, boxes, window, cut)

        archive.add_endpoint(
            "serve_glimpses",
            serve_glimpses,
            input_signature=[images_spec, tf.TensorSpec([], tf.int32, name="num_glimpses")],
        )
    archive.write_out(export_dir, verbose=False)
    return export_dir


def max_served_glimpses(saccader, max_glimpses=DEFAULT_MAX_GLIMPSES):
    """`T_max` of `serve_glimpses`: `min(max_glimpses, h * w)` for the model's `h x w` cell grid
    (a Saccader-ClassNet's: its Saccader's)."""
    if isinstance(saccader, SaccaderClassNet):
        saccader = saccader.saccader
    return min(max_glimpses, saccader.num_cells)


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


def crop_window(height, width, crop_fraction):
    """The crop of the evaluation pipeline, as a window of the input image.

    Args:
        height, width: int32 scalar tensors, the image size.
        crop_fraction: Python float in `(0, 1]` (central square crop), or `None` (no crop: the whole
            image is resized to `S x S`, as the `none` and `light` recipes evaluate).

    Returns:
        int32 scalars `(top, left, crop_height, crop_width)`: for a float, a square of side
        `c = max(round(crop_fraction * min(H, W)), 1)` at `((H - c) // 2, (W - c) // 2)` (as
        `imagenet_preprocessing.center_crop`); for `None`, `(0, 0, H, W)`.
    """
    if crop_fraction is None:
        return tf.constant(0, tf.int32), tf.constant(0, tf.int32), height, width
    shorter = tf.cast(tf.minimum(height, width), tf.float32)
    side = tf.maximum(tf.cast(tf.round(crop_fraction * shorter), tf.int32), 1)
    return (height - side) // 2, (width - side) // 2, side, side


def preprocess_images(
    images, *, image_size, mean, std, crop_fraction=1.0, resize_method="bilinear"
):
    """Crop (see `crop_window`), resize to `S x S` (no antialiasing), normalisation.

    Args:
        images: uint8 `[N, H, W, C]`.
        image_size: the model's side `S`.
        mean, std: per-channel tuples (`[0, 1]` units).
        crop_fraction: fraction of the shorter side kept by a central square crop, or `None` for
            no crop (resize only).
        resize_method: `"bilinear"` (default) or `"bicubic"` (the `imagenet_tf1` recipe).

    Returns:
        `(inputs, window)`: float32 `[N, S, S, C]` model inputs and the int32
        `(top, left, crop_height, crop_width)` window.
    """
    shape = tf.shape(images)
    top, left, crop_height, crop_width = crop_window(shape[1], shape[2], crop_fraction)
    crop = images[:, top : top + crop_height, left : left + crop_width, :]
    if resize_method not in ("bilinear", "bicubic"):
        raise ValueError(
            "`resize_method` must be 'bilinear' or 'bicubic'. "
            f"Received: resize_method={resize_method!r}"
        )
    resized = tf.image.resize(crop, [image_size, image_size], method=resize_method, antialias=False)
    inputs = normalize_images(resized, mean, std)
    window = (top, left, crop_height, crop_width)
    return tf.ensure_shape(inputs, [None, image_size, image_size, images.shape[-1]]), window


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
        image_size: the model's side `S`.
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


def _unroll_dynamic(saccader, inputs, num_glimpses, largest):
    """Inference-mode logits `[N,K]` and cells int32 `[N,T]` for a scalar tensor `T` in
    `[1, largest]`."""
    message = f"serve_glimpses expects num_glimpses in [1, {largest}]"
    checks = [
        tf.debugging.assert_greater_equal(num_glimpses, 1, message=message),
        tf.debugging.assert_less_equal(num_glimpses, largest, message=message),
    ]
    with tf.control_dependencies(checks):
        index = tf.identity(num_glimpses) - 1
    classnet = saccader if isinstance(saccader, SaccaderClassNet) else None
    if classnet is not None:  # its Saccader picks the cells, its classifier gives the logits
        saccader = classnet.saccader
    context, _ = saccader.context(
        inputs if classnet is None else classnet.saccader_inputs(inputs), training=False
    )

    def branch(steps):
        def run():
            out = saccader.unroll(context, num_glimpses=steps, training=False)
            cells = tf.cast(out["cells"], tf.int32)
            if classnet is None:
                return tf.cast(out["logits"], tf.float32), cells
            glimpse_logits = classnet.classify_boxes(inputs, saccader.boxes(cells), training=False)
            return tf.reduce_mean(glimpse_logits, axis=1), cells

        return run

    logits, cells = tf.switch_case(index, [branch(t) for t in range(1, largest + 1)])
    return (
        tf.ensure_shape(logits, [None, saccader.num_classes]),
        tf.ensure_shape(cells, [None, None]),
    )


def _build(saccader):
    """Calls the model once in inference mode (a custom `train_step` can leave it unbuilt)."""
    size, channels = saccader.image_size, saccader.input_channels
    saccader(tf.zeros([1, size, size, channels], tf.float32), training=False)


def _check_export_args(saccader, mean, std, crop_fraction, top_k, max_glimpses):
    channels = saccader.input_channels
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise ValueError(
            f"`mean` and `std` need one value per channel ({channels}) and `std` must be positive. "
            f"Received: mean={mean}, std={std}"
        )
    if crop_fraction is not None and not 0.0 < crop_fraction <= 1.0:
        raise ValueError(
            f"`crop_fraction` must be in (0, 1] or None. Received: crop_fraction={crop_fraction}"
        )
    check_int("top_k", top_k)
    check_int("max_glimpses", max_glimpses)
