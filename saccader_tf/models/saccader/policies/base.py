"""What every Saccader glimpse policy shares: the step's `GlimpseContext`, the visited-mask update
and `FixedScorePolicy` (argmax over a per-cell score, visited cells excluded)."""

import dataclasses

import tensorflow as tf

from saccader_tf.models.saccader.cell import VISITED_PENALTY


@dataclasses.dataclass(frozen=True)
class GlimpseContext:
    """What every glimpse step of one image batch may read.

    Attributes:
        mixed: mixed what/where features M, `[B, N, D]`.
        patch_logits: per-location logits Z, `[B, N, K]`.
        full_logits: BagNet image logits, `[B, K]`.
        grid: `(h, w)` with `N = h * w`.
        images: the model's input images `[B, S, S, C]` (read by the `sobel_*` policies), or None.
        cell_boxes: int32 `[N, 4]` receptive-field boxes of all cells (`Saccader.boxes`), or None.
    """

    mixed: tf.Tensor
    patch_logits: tf.Tensor
    full_logits: tf.Tensor
    grid: tuple
    images: tf.Tensor = None
    cell_boxes: tf.Tensor = None


def mark_visited(visited, cell):
    """The visited mask after a step: `visited + onehot(cell)`, float32 `[B, N]`.

    Args:
        visited: float32 `[B, N]` mask before the step.
        cell: int32 `[B]` cell chosen by the step.
    """
    cells = visited.shape[-1] if visited.shape[-1] is not None else tf.shape(visited)[-1]
    return visited + tf.one_hot(cell, cells, dtype=tf.float32)


class FixedScorePolicy:
    """Argmax over a per-cell score with visited cells excluded."""

    uses_glimpses = True

    def scores(self, context):
        raise NotImplementedError

    def step(self, context, visited, training):
        logits = tf.cast(self.scores(context), tf.float32) - VISITED_PENALTY * visited
        cell = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return logits, cell, mark_visited(visited, cell)
