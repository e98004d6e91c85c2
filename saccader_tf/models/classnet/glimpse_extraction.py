"""Glimpses for Saccader-ClassNet: the Saccader's boxes at its size, cut from the image at another
size."""

import keras
import tensorflow as tf

from saccader_tf.utils.validation import check_int

INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "area")


def scaled_glimpse_size(image_size, source_size, receptive_field):
    """`g = int(image_size / source_size * receptive_field)`, computed exactly in integers.

    Args:
        image_size: S_cls, side of the image the glimpses are cut from.
        source_size: S_sac, side of the image the boxes refer to.
        receptive_field: RF, side of the boxes in `source_size` pixels.

    Returns:
        The Python int `(image_size * receptive_field) // source_size` (e.g. 331, 224, 77 → 113).
    """
    return (image_size * receptive_field) // source_size


@keras.saving.register_keras_serializable(package="saccader_tf")
class GlimpseExtraction(keras.layers.Layer):
    """Cuts g x g glimpses centred where boxes given at another image size are, and resizes them.

    Boxes `(ymin, xmin, ymax, xmax)` (end-exclusive) refer to the image at `source_size` = S_sac
    (the Saccader's receptive-field boxes). Their centre in S_sac pixels is `(ymin + ymax) / 2`
    (continuous coordinates: pixel y covers `[y, y + 1)`); scaled to the image at `image_size` =
    S_cls it is `c = (ymin + ymax) / 2 · S_cls / S_sac`. The glimpse has side
    `g = int(S_cls / S_sac · RF)` (`scaled_glimpse_size`, integer floor) and its first row is
    `c − g/2` rounded to the nearest integer, halves up:

        top = floor(((ymin + ymax) · S_cls − g · S_sac + S_sac) / (2 · S_sac))

    (exact integer arithmetic; the same for columns). The glimpse holds rows `top .. top + g − 1`;
    a row or column outside the image is replaced by the nearest edge row/column (edge replication:
    indices are clipped to `[0, S_cls − 1]`, which equals slicing the edge-padded image). The
    `[g, g]` glimpse is then resized to `output_size` (no resize when `output_size == g`).

    Args:
        image_size: S_cls, side of the square images the glimpses are cut from.
        source_size: S_sac, side of the square image the boxes refer to.
        receptive_field: RF, side of the boxes in S_sac pixels (`g` is derived from it).
        output_size: side s of the returned glimpses (the classifier's input); default `g`.
        interpolation: resize method, one of `INTERPOLATIONS` (default `"bilinear"`).
        **kwargs: base-layer arguments.

    Call arguments:
        images: `[N, S_cls, S_cls, C]` float images.
        boxes: int `[N, T, 4]` boxes in S_sac pixels (e.g. the Saccader's `"glimpse_boxes"`).

    Returns:
        `[N, T, s, s, C]` glimpses in the layer's compute dtype.

    Example:

    >>> layer = GlimpseExtraction(
    ...     image_size=331, source_size=224, receptive_field=77, output_size=331
    ... )
    >>> layer.glimpse_size
    113

    Reference:
        Elsayed, Kornblith & Le, "Saccader", NeurIPS 2019 (Saccader-ClassNet).
    """

    def __init__(
        self,
        image_size,
        source_size,
        receptive_field,
        output_size=None,
        interpolation="bilinear",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("image_size", image_size)
        check_int("source_size", source_size)
        check_int("receptive_field", receptive_field)
        if receptive_field > source_size:
            raise ValueError(
                f"`receptive_field` must be at most source_size={source_size}. "
                f"Received: receptive_field={receptive_field!r}"
            )
        glimpse_size = scaled_glimpse_size(image_size, source_size, receptive_field)
        if glimpse_size < 1:
            raise ValueError(
                f"The glimpse side int(image_size / source_size * receptive_field) is 0; "
                f"use a larger image. Received: image_size={image_size!r}"
            )
        if output_size is not None:
            check_int("output_size", output_size)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be one of {INTERPOLATIONS}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.image_size = image_size
        self.source_size = source_size
        self.receptive_field = receptive_field
        self.output_size = output_size
        self.interpolation = interpolation
        self.glimpse_size = glimpse_size
        self.resized_size = glimpse_size if output_size is None else output_size

    def build(self, images_shape=None, boxes_shape=None):
        self.built = True

    def corners(self, boxes):
        """Top-left corners `[..., 2]` (int32 `(top, left)` in S_cls pixels) of the glimpses of
        `boxes`."""
        boxes = tf.cast(boxes, tf.int64)
        doubled_centre = boxes[..., 0:2] + boxes[..., 2:4]  # 2 · centre, in S_sac pixels
        numerator = doubled_centre * self.image_size - (self.glimpse_size - 1) * self.source_size
        return tf.cast(tf.math.floordiv(numerator, 2 * self.source_size), tf.int32)

    def glimpse_boxes(self, boxes):
        """The cut boxes `[..., 4]` (int32, S_cls pixels, end-exclusive; may leave the image)."""
        corners = self.corners(boxes)
        return tf.concat([corners, corners + self.glimpse_size], axis=-1)

    def call(self, images, boxes):
        images = tf.convert_to_tensor(images)
        corners = self.corners(boxes)  # [N, T, 2]
        offsets = tf.range(self.glimpse_size, dtype=tf.int32)
        indices = tf.clip_by_value(
            corners[..., None] + offsets, 0, self.image_size - 1
        )  # [N, T, 2, g]
        rows = tf.gather(images, indices[:, :, 0], axis=1, batch_dims=1)  # [N, T, g, S, C]
        glimpses = tf.gather(rows, indices[:, :, 1], axis=3, batch_dims=2)  # [N, T, g, g, C]
        if self.resized_size != self.glimpse_size:
            shape = tf.shape(glimpses)
            flat = tf.reshape(glimpses, [-1, self.glimpse_size, self.glimpse_size, shape[-1]])
            flat = tf.image.resize(
                tf.cast(flat, tf.float32), [self.resized_size] * 2, method=self.interpolation
            )
            glimpses = tf.reshape(
                flat, [shape[0], shape[1], self.resized_size, self.resized_size, shape[-1]]
            )
        return tf.cast(glimpses, self.compute_dtype)

    def compute_output_shape(self, images_shape, boxes_shape):
        side = self.resized_size
        return (images_shape[0], boxes_shape[1], side, side, images_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            source_size=self.source_size,
            receptive_field=self.receptive_field,
            output_size=self.output_size,
            interpolation=self.interpolation,
        )
        return config
