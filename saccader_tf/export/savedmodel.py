"""Exporting a trained Saccader, DRAM or Saccader-ClassNet as a TensorFlow SavedModel that serves
raw `uint8` images.

The SavedModel written by `export_model` needs only TensorFlow to load and run
(`tf.saved_model.load(export_dir)`); it holds the preprocessing, the model in inference mode (the
deterministic learned policy) and the mapping of glimpse boxes back to the caller's image.

Endpoints (each is a signature of the SavedModel and an attribute of the loaded object):

* `serving_default(images)`: `images` uint8 `[N, H, W, C]` (any `N >= 0`, `H`, `W`; `C` fixed) →
  `{"logits": float32 [N, K], "probabilities": float32 [N, K], "top_k_classes": int32 [N, k],
  "top_k_class_names": string [N, k], "top_k_scores": float32 [N, k],
  "glimpse_boxes": float32 [N, T, 4], "glimpse_cells": int32 [N, T]}` with `T` the model's
  `num_glimpses` and `k = min(top_k, K)`; the class names are the recorded ones (`class_names`),
  or the indices as strings.
* `serve_float(images)`: the same for float32 `images` holding pixel values in `[0, 255]` (the
  uint8 scale, not `[0, 1]`); a value outside that range, NaN or Inf fails with an
  `InvalidArgumentError` saying so (NumPy float or int16 arrays given to the uint8 endpoints are
  cast to uint8 by TensorFlow without any check: use this endpoint for them).
* `serve_image_bytes(image_bytes)`: string `[N]`, each the bytes of a JPEG, PNG, BMP or GIF file
  (any sizes, grayscale or colour), decoded as the image-folder source decodes files
  (`saccader_tf.data.image_bytes`) and preprocessed like `serving_default`'s images, one image at a
  time; the same outputs, each row's boxes in its own image's pixels.
* `serve_glimpses(images, num_glimpses)`: the same outputs for int32 `num_glimpses` `[N]`, row
  `i`'s count in `[1, T_max]` (`T_max = min(max_glimpses, grid cells)`); `T` in the output shapes is
  the batch's largest count, and the rows with fewer glimpses are padded (`glimpse_cells` -1,
  boxes 0). Only exported when the model's policy takes glimpses (not for `"full"`). See
  `saccader_tf.export.endpoints` for how the glimpse loop is unrolled.

Every input is batched (no scalar input), so every signature can be called with TensorFlow
Serving's REST "instances" (row) format. The attributes of the loaded object are concrete
functions, not `tf.function`s: a call refused for a wrong dtype or rank leaves them usable from
every thread (a loaded `tf.function` of TensorFlow 2.21 keeps its lock when it refuses an input,
and every later call from another thread then waits forever).

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

import tensorflow as tf

from saccader_tf.data.preprocessing import RESIZE_METHODS
from saccader_tf.export.endpoints import (
    DEFAULT_MAX_GLIMPSES,
    ServedFunctions,
    glimpse_chooser,
    max_served_glimpses,
)
from saccader_tf.export.layout import write_atomically
from saccader_tf.export.serving_io import (
    check_images,
    class_name_table,
    input_boxes,
    preprocess_images,
    serving_outputs,
)
from saccader_tf.utils.validation import check_int

__all__ = [
    "DEFAULT_MAX_GLIMPSES",
    "check_images",
    "export_model",
    "glimpse_chooser",
    "input_boxes",
    "max_served_glimpses",
    "preprocess_images",
    "serving_outputs",
]


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
    class_names=None,
):
    """Writes `model` as a SavedModel serving raw images (see the module docstring).

    The SavedModel is written to a hidden sibling folder and renamed to `export_dir` when complete
    (`saccader_tf.export.layout.write_atomically`): a failed export leaves `export_dir` as it was.

    Args:
        model: a `Saccader`, `DRAM` or `SaccaderClassNet` (built or not; it is called once
            before tracking).
        export_dir: directory of the SavedModel (replaced if it holds one). TensorFlow Serving's
            layout puts it in a version folder: `layout.new_version_dir(base)`.
        mean: per-channel mean, `C` floats in `[0, 1]` units (`DataSource.mean`).
        std: per-channel standard deviation, `C` positive floats (`DataSource.std`).
        crop_fraction: central-crop fraction of the shorter side, in `(0, 1]`, or `None` for a plain
            resize of the whole image (`DataSource.crop_fraction`).
        top_k: number of top classes returned (`k = min(top_k, K)`).
        max_glimpses: largest `num_glimpses` of `serve_glimpses` (capped at the number of grid
            cells).
        resize_method: `"bilinear"` (default) or `"bicubic"` (the `imagenet_tf1` recipe's;
            `saccader_tf.data.preprocessing.resize_method_of(recipe)`).
        class_names: the `K` class names served as `top_k_class_names` (`DataSource.class_names`,
            model_dir's `preprocessing.json`), or `None` for the class indices as strings.

    Returns:
        `export_dir`.

    Note:
        A `tf.Tensor` of another dtype, rank or channel count is refused by the signature itself
        (`TypeError` or `ValueError` naming the expected `TensorSpec`), before the graph runs. A
        *NumPy* float array is instead converted to uint8 by TensorFlow's argument binding (values
        truncated, no error): pass uint8 arrays or tensors, or use `serve_float`, which checks the
        range.
    """
    _check_export_args(model, mean, std, crop_fraction, top_k, max_glimpses, resize_method)
    class_names = class_name_table(class_names, model.num_classes)
    preprocessing = dict(
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        crop_fraction=crop_fraction,
        resize_method=resize_method,
    )
    _build(model)
    largest = None
    if glimpse_chooser(model).policy.uses_glimpses:
        largest = max_served_glimpses(model, max_glimpses)
    k = min(top_k, model.num_classes)
    served = ServedFunctions(model, preprocessing, k, class_names, largest)
    functions = _concrete_functions(model, served)
    root = tf.Module()
    # The TensorFlow variables the functions read (the Keras variables' own): a loader without
    # Python objects (`saved_model_cli run`, TensorFlow Serving) restores exactly those.
    used = {id(v): v for f in functions.values() for v in f.variables}
    root.model_variables = list(used.values())
    for name, function in functions.items():
        setattr(root, name, function)

    def write(folder):
        tf.saved_model.save(root, folder, signatures=functions)

    write_atomically(export_dir, write)
    return export_dir


def _concrete_functions(model, served):
    """The endpoints traced as concrete functions (name -> `ConcreteFunction`), one per signature.

    Bare concrete functions rather than `tf.function`s: loaded, a concrete function refuses a bad
    input without taking a lock (see the module docstring)."""
    images = _images_spec(model, tf.uint8)
    specs = {
        "serving_default": (served.serving_default, [images]),
        "serve_float": (served.serve_float, [_images_spec(model, tf.float32)]),
        "serve_image_bytes": (
            served.serve_image_bytes,
            [tf.TensorSpec([None], tf.string, name="image_bytes")],
        ),
    }
    if served.largest is not None:
        counts = tf.TensorSpec([None], tf.int32, name="num_glimpses")
        specs["serve_glimpses"] = (served.serve_glimpses, [images, counts])
    return {
        name: tf.function(fn, input_signature=signature, autograph=False).get_concrete_function()
        for name, (fn, signature) in specs.items()
    }


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
