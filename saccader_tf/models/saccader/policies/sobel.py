"""Edge-based baseline policies `sobel_mean` and `sobel_var` (the paper's engineered policies).

Each cell n is scored by a statistic of the image's Sobel edge magnitude inside the cell's
receptive-field box, and the policy takes the T best unvisited cells in descending order of score
(argmax of `score − V·C`; ties go to the lower cell index). The edge magnitude is computed on the
**channel mean** of the model's input image `x [B, S, S, C]` (so 1- and 3-channel images are
treated alike; the TF1 code used `rgb_to_grayscale`, which needs 3 channels):

    g     = mean_c x[..., c]                                    [B, S, S]
    gy,gx = tf.image.sobel_edges(g)   (3x3 Sobel, REFLECT padding at the border)
    E     = sqrt(gx² + gy²)                                     [B, S, S]
    mean_n = (1/|A_n|) Σ_{p ∈ A_n} E_p,   var_n = (1/|A_n|) Σ_{p ∈ A_n} E_p² − mean_n²

where A_n is the part of cell n's box (`GlimpseContext.cell_boxes`) inside the image: a box that
extends past the border is averaged over its pixels inside the image only. The variance is the
population variance (divisor |A_n|; the TF1 code's n/(n−1) factor is the same for every cell of
equal area and does not change the order); it is computed after subtracting the image mean of E,
which leaves it unchanged and keeps the float32 cancellation small. The scores are computed once
per image batch (per `GlimpseContext` and graph) and reused by every glimpse step.
"""

import tensorflow as tf

from saccader_tf.models.saccader.policies.base import FixedScorePolicy


def sobel_magnitude(images):
    """Sobel edge magnitude of the channel mean of `images`.

    Args:
        images: float `[B, H, W, C]`.

    Returns:
        float32 `[B, H, W]`: `sqrt(gx² + gy²)` of `tf.image.sobel_edges` on the channel mean.
    """
    gray = tf.reduce_mean(tf.cast(images, tf.float32), axis=-1, keepdims=True)
    edges = tf.image.sobel_edges(gray)  # [B, H, W, 1, 2]: (dy, dx)
    return tf.sqrt(tf.reduce_sum(tf.square(edges[:, :, :, 0, :]), axis=-1))


def box_statistics(values, boxes):
    """Mean and population variance of `values` inside each box (clipped to the image).

    Args:
        values: float `[B, H, W]`.
        boxes: int `[N, 4]` boxes `(ymin, xmin, ymax, xmax)`, end-exclusive pixels; they may
            extend past the image border (only the pixels inside count).

    Returns:
        `(mean, variance)`, float32 `[B, N]` each (0 for a box with no pixel in the image).
    """
    values = tf.cast(values, tf.float32)
    boxes = tf.cast(boxes, tf.float32)
    rows = tf.range(tf.shape(values)[1], dtype=tf.float32)
    cols = tf.range(tf.shape(values)[2], dtype=tf.float32)
    in_rows = tf.cast((rows >= boxes[:, 0:1]) & (rows < boxes[:, 2:3]), tf.float32)  # [N, H]
    in_cols = tf.cast((cols >= boxes[:, 1:2]) & (cols < boxes[:, 3:4]), tf.float32)  # [N, W]
    area = tf.maximum(tf.reduce_sum(in_rows, -1) * tf.reduce_sum(in_cols, -1), 1.0)  # [N]

    def box_sums(v):  # Σ over each box of v [B, H, W] -> [B, N]
        return tf.einsum("byn,ny->bn", tf.einsum("byx,nx->byn", v, in_cols), in_rows)

    centred = values - tf.reduce_mean(values, axis=[1, 2], keepdims=True)
    mean_centred = box_sums(centred) / area
    variance = tf.maximum(box_sums(tf.square(centred)) / area - tf.square(mean_centred), 0.0)
    return box_sums(values) / area, variance


class _SobelPolicy(FixedScorePolicy):
    """Argmax over a Sobel statistic per cell box, visited cells excluded (module docstring)."""

    statistic_index = 0  # 0: mean, 1: variance

    def __init__(self):
        self._cached = (None, None, None)  # (context, graph, scores): one batch's scores, all steps

    def scores(self, context):
        if context.images is None or context.cell_boxes is None:
            raise ValueError(
                f"The `{self.name}` policy needs the images and the cell boxes in the glimpse "
                "context (`Saccader.context` provides them). "
                f"Received: images={context.images!r}, cell_boxes={context.cell_boxes!r}"
            )
        # Reused only in the graph that computed them (eager, one tf.function, or one branch of a
        # `tf.switch_case`, whose branches may not share tensors).
        graph = tf.compat.v1.get_default_graph()
        if self._cached[0] is not context or self._cached[1] is not graph:
            statistics = box_statistics(sobel_magnitude(context.images), context.cell_boxes)
            self._cached = (context, graph, statistics[self.statistic_index])
        return self._cached[2]


class SobelMeanPolicy(_SobelPolicy):
    """The cells with the highest mean Sobel edge magnitude in their box, in descending order."""

    name = "sobel_mean"
    statistic_index = 0


class SobelVarPolicy(_SobelPolicy):
    """The cells with the highest variance of the Sobel edge magnitude in their box, in order."""

    name = "sobel_var"
    statistic_index = 1
