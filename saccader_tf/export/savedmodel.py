"""Exporting a trained Saccader, DRAM or Saccader-ClassNet as a TensorFlow SavedModel that serves
raw `uint8` images.

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
(`saccader_tf.model_dir.model_config.load_trained_model`) the BagNet as stage 3 left it, not
stage 1's full-image classifier (see `Saccader`, "Which network").

A `SaccaderClassNet` is exported the same way, with `S` its classifier's size `S_cls`: the served
`logits` (and probabilities, top-k) are the ClassNet's (its classifier's logits averaged over the
T glimpses; `serve_glimpses` too), `glimpse_boxes` / `glimpse_cells` are its Saccader's (the boxes
mapped from the Saccader's `S_sac` pixels to the input image), and one more output,
`"classifier_boxes"` float32 `[N, T, 4]`, gives the windows the classifier's glimpses were cut from
(`S_cls` pixels mapped to the input image).

Preprocessing (inside the graph): the evaluation pipeline's own, the same function
(`saccader_tf.data.preprocessing.preprocess_for_eval`, see docs/design.md, "Preprocessing"):
central square crop of side `round(crop_fraction * min(H, W))` (at least 1 pixel) at offset
`((H - c) // 2, (W - c) // 2)` (no crop when `crop_fraction` is `None`: the `none` and `light`
recipes resize the whole image), bilinear resize (half-pixel centres, no antialiasing; bicubic for
the `imagenet_tf1` recipe: `resize_method`) to `S x S`, `(x / 255 - mean) / std`. The
`crop_fraction` and recipe come from model_dir's `preprocessing.json` (docs/design.md,
"model_dir"; docs/serving.md).
Glimpse boxes `(ymin, xmin, ymax, xmax)`, end-exclusive, are returned in the input image's own pixel
coordinates: `box_input = box_model * (h, w, h, w) / S + (top, left, top, left)` for the crop window
`(top, left, h, w)` (not clipped to the image: a receptive field may extend past the border).
"""

import keras
import tensorflow as tf

from saccader_tf.data.preprocessing import RESIZE_METHODS
from saccader_tf.export.serving_io import (
    check_images,
    check_pixel_range,
    input_boxes,
    preprocess_images,
    serving_outputs,
)
from saccader_tf.utils.validation import check_int

DEFAULT_MAX_GLIMPSES = 12
"""Largest `num_glimpses` served by `serve_glimpses` (capped at the number of grid cells)."""


def export_model(
    model,
    export_dir,
    *,
    mean,
    std,
    crop_fraction=1.0,
    top_k=5,
    max_glimpses=DEFAULT_MAX_GLIMPSES,
    resize_method="bilinear",
):
    """Writes `model` as a SavedModel serving raw uint8 images (see the module docstring).

    Args:
        model: a `Saccader`, `DRAM` or `SaccaderClassNet` (built or not; it is called once
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
    _check_export_args(model, mean, std, crop_fraction, top_k, max_glimpses, resize_method)
    preprocessing = dict(
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        crop_fraction=crop_fraction,
        resize_method=resize_method,
    )
    endpoints = _Endpoints(model, preprocessing, min(top_k, model.num_classes))
    _build(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    uint8_images = _images_spec(model, tf.uint8)
    archive.add_endpoint(
        "serving_default", endpoints.serving_default, input_signature=[uint8_images]
    )
    archive.add_endpoint(
        "serve_float", endpoints.serve_float, input_signature=[_images_spec(model, tf.float32)]
    )
    if endpoints.chooser.policy.uses_glimpses:
        endpoints.largest = max_served_glimpses(model, max_glimpses)
        archive.add_endpoint(
            "serve_glimpses",
            endpoints.serve_glimpses,
            input_signature=[uint8_images, tf.TensorSpec([], tf.int32, name="num_glimpses")],
        )
    archive.write_out(export_dir, verbose=False)
    return export_dir


def glimpse_chooser(model):
    """The network that chooses `model`'s glimpses: a Saccader-ClassNet's `saccader` (a
    `Saccader`; its classifier classifies what it chose), else the model itself (a `Saccader` or a
    `DRAM` chooses and classifies)."""
    return getattr(model, "saccader", model)


def max_served_glimpses(model, max_glimpses=DEFAULT_MAX_GLIMPSES):
    """`T_max` of `serve_glimpses`: `min(max_glimpses, h * w)` for the `h x w` cell grid of the
    model's `glimpse_chooser`."""
    return min(max_glimpses, glimpse_chooser(model).num_cells)


class _Endpoints:
    """The functions the SavedModel serves, for one model (traced by `ExportArchive`).

    A model with a separate classifier (a Saccader-ClassNet: `glimpse_chooser(model)` is not the
    model) is asked, through its own methods, for what differs: the chooser's inputs
    (`saccader_inputs`), the logits of the chosen glimpses (`classify_boxes`) and the classifier's
    cut boxes (`extraction.glimpse_boxes`).
    """

    def __init__(self, model, preprocessing, k):
        self.model, self.preprocessing, self.k = model, preprocessing, k
        self.chooser = glimpse_chooser(model)
        self.largest = None  # `T_max` of `serve_glimpses`, set when it is exported

    def serving_default(self, images, endpoint="serving_default", dtype=tf.uint8):
        inputs, window = self._prepare(images, endpoint, dtype)
        outputs = self.model(inputs, training=False)
        return self._outputs(
            outputs["logits"],
            outputs["cells"],
            outputs["glimpse_boxes"],
            window,
            outputs.get("classifier_boxes"),
        )

    def serve_float(self, images):
        return self.serving_default(images, "serve_float", tf.float32)

    def serve_glimpses(self, images, num_glimpses):
        inputs, window = self._prepare(images, "serve_glimpses")
        logits, cells = self._unroll_dynamic(inputs, num_glimpses)
        boxes = self.chooser.boxes(cells)
        if self.chooser is self.model:
            return self._outputs(logits, cells, boxes, window)
        cut = self.model.extraction.glimpse_boxes(boxes)
        return self._outputs(logits, cells, boxes, window, cut)

    def _prepare(self, images, endpoint, dtype=tf.uint8):
        images = check_images(images, self.model.input_channels, endpoint, dtype)
        if dtype != tf.uint8:
            images = check_pixel_range(images, endpoint)
        return preprocess_images(images, image_size=self.model.image_size, **self.preprocessing)

    def _outputs(self, logits, cells, boxes, window, classifier_boxes=None):
        served = serving_outputs(logits, cells, boxes, window, self.chooser.image_size, self.k)
        if classifier_boxes is not None:
            served["classifier_boxes"] = input_boxes(
                classifier_boxes, window, self.model.image_size
            )
        return served

    def _unroll_dynamic(self, inputs, num_glimpses):
        """Inference-mode logits `[N, K]` and cells int32 `[N, T]` for a scalar tensor `T` in
        `[1, T_max]`: one unrolled glimpse loop per `T`, chosen by `tf.switch_case`."""
        message = f"serve_glimpses expects num_glimpses in [1, {self.largest}]"
        checks = [
            tf.debugging.assert_greater_equal(num_glimpses, 1, message=message),
            tf.debugging.assert_less_equal(num_glimpses, self.largest, message=message),
        ]
        with tf.control_dependencies(checks):
            index = tf.identity(num_glimpses) - 1
        separate = self.chooser is not self.model
        chooser_inputs = self.model.saccader_inputs(inputs) if separate else inputs
        context, _ = self.chooser.context(chooser_inputs, training=False)

        def branch(steps):
            def run():
                out = self.chooser.unroll(context, num_glimpses=steps, training=False)
                cells = tf.cast(out["cells"], tf.int32)
                if not separate:
                    return tf.cast(out["logits"], tf.float32), cells
                boxes = self.chooser.boxes(cells)
                glimpse_logits = self.model.classify_boxes(inputs, boxes, training=False)
                return tf.reduce_mean(glimpse_logits, axis=1), cells

            return run

        branches = [branch(t) for t in range(1, self.largest + 1)]
        logits, cells = tf.switch_case(index, branches)
        return (
            tf.ensure_shape(logits, [None, self.model.num_classes]),
            tf.ensure_shape(cells, [None, None]),
        )


def _images_spec(model, dtype):
    return tf.TensorSpec([None, None, None, model.input_channels], dtype, name="images")


def _build(model):
    """Calls the model once in inference mode (a custom `train_step` can leave it unbuilt)."""
    size, channels = model.image_size, model.input_channels
    model(tf.zeros([1, size, size, channels], tf.float32), training=False)


def _check_export_args(model, mean, std, crop_fraction, top_k, max_glimpses, resize_method):
    channels = model.input_channels
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise ValueError(
            f"`mean` and `std` need one value per channel ({channels}) and `std` must be positive. "
            f"Received: mean={mean}, std={std}"
        )
    if crop_fraction is not None and not 0.0 < crop_fraction <= 1.0:
        raise ValueError(
            f"`crop_fraction` must be in (0, 1] or None. Received: crop_fraction={crop_fraction}"
        )
    if resize_method not in RESIZE_METHODS:
        raise ValueError(
            "`resize_method` must be 'bilinear' or 'bicubic'. "
            f"Received: resize_method={resize_method!r}"
        )
    check_int("top_k", top_k)
    check_int("max_glimpses", max_glimpses)
