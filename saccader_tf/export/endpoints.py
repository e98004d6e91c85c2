"""The functions a SavedModel of `saccader_tf.export.savedmodel` serves, for one model.

Each endpoint takes whole rows only (every input's first axis is the batch, as TensorFlow
Serving's REST "instances" format sends them), works on an empty batch (the models cannot run on
`N = 0`: an empty batch runs one placeholder row and returns the first 0 rows) and returns the
dict of `saccader_tf.export.serving_io.serving_outputs` (plus `classifier_boxes` for a
Saccader-ClassNet).
"""

import tensorflow as tf

from saccader_tf.export.serving_io import (
    check_images,
    check_pixel_range,
    input_boxes,
    preprocess_encoded,
    preprocess_images,
    serving_outputs,
)

DEFAULT_MAX_GLIMPSES = 12
"""Largest `num_glimpses` served by `serve_glimpses` (capped at the number of grid cells)."""


def glimpse_chooser(model):
    """The network that chooses `model`'s glimpses: a Saccader-ClassNet's `saccader` (a
    `Saccader`; its classifier classifies what it chose), else the model itself (a `Saccader` or a
    `DRAM` chooses and classifies)."""
    return getattr(model, "saccader", model)


def max_served_glimpses(model, max_glimpses=DEFAULT_MAX_GLIMPSES):
    """`T_max` of `serve_glimpses`: `min(max_glimpses, h * w)` for the `h x w` cell grid of the
    model's `glimpse_chooser`."""
    return min(max_glimpses, glimpse_chooser(model).num_cells)


class ServedFunctions:
    """The endpoints of one model (see the module docstring and `savedmodel`'s).

    A model with a separate classifier (a Saccader-ClassNet: `glimpse_chooser(model)` is not the
    model) is asked, through its own methods, for what differs: the chooser's inputs
    (`saccader_inputs`), the logits of the chosen glimpses (`classify_boxes`) and the classifier's
    cut boxes (`extraction.glimpse_boxes`).

    Args:
        model: a built `Saccader`, `DRAM` or `SaccaderClassNet`.
        preprocessing: dict of `mean`, `std`, `crop_fraction`, `resize_method`.
        k: number of top classes served.
        class_names: `K` class names, or `None` (the indices as strings).
        largest: `T_max` of `serve_glimpses`, or `None` when it is not served.
    """

    def __init__(self, model, preprocessing, k, class_names=None, largest=None):
        self.model, self.preprocessing, self.k = model, preprocessing, k
        self.class_names, self.largest = class_names, largest
        self.chooser = glimpse_chooser(model)

    # ------------------------------------------------------------------ endpoints
    def serving_default(self, images):
        return self._serve_pixels(images, "serving_default", tf.uint8)

    def serve_float(self, images):
        return self._serve_pixels(images, "serve_float", tf.float32)

    def serve_image_bytes(self, image_bytes):
        inputs, windows = preprocess_encoded(
            image_bytes,
            channels=self.model.input_channels,
            image_size=self.model.image_size,
            **self.preprocessing,
        )
        logits, cells, boxes, cut = _nonempty(self._call_model, inputs)
        return self._outputs(logits, cells, boxes, windows, cut)

    def serve_glimpses(self, images, num_glimpses):
        inputs, window = self._prepare(images, "serve_glimpses", tf.uint8)
        num_glimpses = self._check_glimpse_counts(num_glimpses, tf.shape(inputs)[0])
        logits, cells, boxes, cut = _nonempty(self._unroll_rows, inputs, num_glimpses)
        outputs = self._outputs(logits, cells, boxes, window, cut)
        served = tf.sequence_mask(num_glimpses, tf.shape(cells)[1])
        outputs["glimpse_cells"] = tf.where(served, outputs["glimpse_cells"], -1)
        for key in ("glimpse_boxes", "classifier_boxes"):
            if key in outputs:
                outputs[key] = tf.where(served[..., tf.newaxis], outputs[key], 0.0)
        return outputs

    # ------------------------------------------------------------------ parts
    def _serve_pixels(self, images, endpoint, dtype):
        inputs, window = self._prepare(images, endpoint, dtype)
        logits, cells, boxes, cut = _nonempty(self._call_model, inputs)
        return self._outputs(logits, cells, boxes, window, cut)

    def _prepare(self, images, endpoint, dtype):
        images = check_images(images, self.model.input_channels, endpoint, dtype)
        if dtype != tf.uint8:
            images = check_pixel_range(images, endpoint)
        return preprocess_images(images, image_size=self.model.image_size, **self.preprocessing)

    def _call_model(self, inputs):
        """`(logits, cells, boxes, classifier boxes or None)` of the model in inference mode."""
        outputs = self.model(inputs, training=False)
        cut = outputs.get("classifier_boxes")
        return outputs["logits"], outputs["cells"], outputs["glimpse_boxes"], cut

    def _outputs(self, logits, cells, boxes, window, classifier_boxes=None):
        served = serving_outputs(
            logits, cells, boxes, window, self.chooser.image_size, self.k, self.class_names
        )
        if classifier_boxes is not None:
            served["classifier_boxes"] = input_boxes(
                classifier_boxes, window, self.model.image_size
            )
        return served

    def _check_glimpse_counts(self, num_glimpses, batch):
        message = f"serve_glimpses expects one num_glimpses per image, each in [1, {self.largest}]"
        checks = [
            tf.debugging.assert_equal(tf.shape(num_glimpses)[0], batch, message=message),
            tf.debugging.assert_greater_equal(num_glimpses, 1, message=message),
            tf.debugging.assert_less_equal(num_glimpses, self.largest, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(num_glimpses)

    def _unroll_rows(self, inputs, num_glimpses):
        """Row `i`'s prediction after its first `num_glimpses[i]` glimpses.

        The glimpse loop is a Python loop (its length must be static when tracing), so the graph
        holds one unrolled loop per length `T` in `[1, T_max]`, selected with `tf.switch_case` for
        the batch's largest count; the first `t` glimpses of a `T`-glimpse loop are the `t`-glimpse
        loop's (each step sees only the steps before it). The BagNet / attention network / mixer
        run once, outside the switch.

        Returns:
            `(logits [N, K], cells int32 [N, T], boxes int32 [N, T, 4], classifier boxes
            [N, T, 4] or None)`, `T` the batch's largest count (rows past their count: padding).
        """
        separate = self.chooser is not self.model
        chooser_inputs = self.model.saccader_inputs(inputs) if separate else inputs
        context, _ = self.chooser.context(chooser_inputs, training=False)

        def branch(steps):
            def run():
                out = self.chooser.unroll(context, num_glimpses=steps, training=False)
                cells = tf.cast(out["cells"], tf.int32)
                if not separate:
                    return tf.cast(out["glimpse_logits"], tf.float32), cells
                boxes = self.chooser.boxes(cells)
                return self.model.classify_boxes(inputs, boxes, training=False), cells

            return run

        index = tf.reduce_max(num_glimpses) - 1
        branches = [branch(t) for t in range(1, self.largest + 1)]
        glimpse_logits, cells = tf.switch_case(index, branches)
        glimpse_logits = tf.ensure_shape(glimpse_logits, [None, None, self.model.num_classes])
        cells = tf.ensure_shape(cells, [None, None])
        logits = self._logits_after(glimpse_logits, num_glimpses)
        boxes = self.chooser.boxes(cells)
        cut = self.model.extraction.glimpse_boxes(boxes) if separate else None
        return logits, cells, boxes, cut

    def _logits_after(self, glimpse_logits, num_glimpses):
        """Per row, the model's prediction after `t` glimpses: a DRAM's is its `t`-th step's
        (`DRAM.logits_after_glimpses`), the others' the mean of the first `t` glimpses' logits."""
        if getattr(self.model, "logits_after_glimpses", None) is not None:
            return tf.gather(glimpse_logits, num_glimpses - 1, axis=1, batch_dims=1)
        first = tf.sequence_mask(num_glimpses, tf.shape(glimpse_logits)[1], tf.float32)
        weights = first / tf.cast(num_glimpses, tf.float32)[:, tf.newaxis]
        return tf.einsum("nt,ntk->nk", weights, glimpse_logits)


def _nonempty(fn, inputs, *rows):
    """`fn(inputs, *rows)` cut to the batch's `N` rows; an empty batch runs one placeholder row
    (zeros; `1` for the int `rows`) instead, since the models cannot run on `N = 0`."""
    n = tf.shape(inputs)[0]

    def placeholder(x, fill):
        return tf.cond(
            n > 0, lambda: x, lambda: tf.fill(tf.concat([[1], tf.shape(x)[1:]], 0), fill)
        )

    outputs = fn(
        placeholder(inputs, tf.constant(0, inputs.dtype)),
        *(placeholder(r, tf.constant(1, r.dtype)) for r in rows),
    )
    return tuple(None if out is None else out[:n] for out in outputs)
