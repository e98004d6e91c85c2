"""The 2019 TF1 code's `random` and `center` policies, next to this project's own definitions.

| policy       | TF1 definition (this module)            | ours (`standard.py`)                   |
|--------------|-----------------------------------------|----------------------------------------|
| `random_tf1` | u ~ U([−1, 1]²) snapped to the nearest  | `random`: uniform over the unvisited   |
|              | grid cell; cells may repeat             | cells (T distinct cells)               |
| `center_tf1` | the centre cell at every step (T times) | `center`: the cells nearest the centre, |
|              |                                         | each once                              |

Snapping (the TF1 code's `normalized_locations_to_indices`): a coordinate u ∈ [−1, 1] of a side
with h cells goes to index `round((h − 1)(u + 1) / 2)`, clipped to `[0, h − 1]`. So the snapped
draw is not uniform over cells: along a side, the two border cells have probability `1/(2(h − 1))`
and the inner ones `1/(h − 1)` (one cell: 1). `random_tf1` reports exactly this distribution as
its location logits (`log P(i) + log P(j)`, no visited penalty), so `probabilities` is the law the
cell was drawn from. `center_tf1`'s logits are 0 at the centre cell and −V elsewhere. The centre
cell is `(h // 2, w // 2)` (`saccader_tf.models.geometry.center_cell`): the TF1 snap of u = 0 on
an odd grid; on an even grid (no single centre) TF1's round-half-to-even picked one of the four
central cells depending on h, we always take the lower-right one. Revisited cells add nothing new
to hard attention: their glimpse logits are averaged again, as in the TF1 code.
"""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.layers.replica_seed import replica_seed
from saccader_tf.models.geometry import center_cell
from saccader_tf.models.saccader.cell import VISITED_PENALTY
from saccader_tf.models.saccader.policies.base import mark_visited


def snap_to_grid(locations, grid):
    """Grid cells of normalised locations (the TF1 snapping rule, module docstring).

    Args:
        locations: float `[B, 2]` `(y, x)` in `[−1, 1]` (−1: top / left edge).
        grid: `(h, w)`.

    Returns:
        int32 `[B]` cell indices `i * w + j`.
    """
    h, w = grid
    locations = tf.cast(locations, tf.float32)
    i = tf.clip_by_value(tf.cast(tf.round((h - 1) * (locations[:, 0] + 1) / 2), tf.int32), 0, h - 1)
    j = tf.clip_by_value(tf.cast(tf.round((w - 1) * (locations[:, 1] + 1) / 2), tf.int32), 0, w - 1)
    return i * w + j


def snapped_log_probabilities(grid):
    """log P(cell) of a U([−1, 1]²) location snapped with `snap_to_grid`, float32 `[h * w]`."""

    def side(n):
        if n == 1:
            return np.ones([1])
        p = np.full([n], 1.0 / (n - 1))
        p[[0, -1]] = 0.5 / (n - 1)
        return p

    h, w = grid
    return np.log(np.outer(side(h), side(w)).reshape(-1)).astype(np.float32)


class RandomTF1Policy:
    """TF1 `random`: a uniform location in the image snapped to the nearest cell; revisits allowed.

    Args:
        seed: seed of the location sampler (`keras.random.SeedGenerator`, replica id folded in).
    """

    name = "random_tf1"
    uses_glimpses = True

    def __init__(self, seed=None):
        self.seed_generator = keras.random.SeedGenerator(seed, name="random_tf1_policy_seed")

    def sample_locations(self, batch_size):
        """The next continuous locations, float32 `[B, 2]` uniform in `[−1, 1]²`."""
        return tf.random.stateless_uniform(
            [batch_size, 2], seed=replica_seed(self.seed_generator), minval=-1.0, maxval=1.0
        )

    def step(self, context, visited, training):
        cells = snap_to_grid(self.sample_locations(tf.shape(visited)[0]), context.grid)
        logits = tf.constant(snapped_log_probabilities(context.grid))[None] + tf.zeros_like(visited)
        return logits, cells, mark_visited(visited, cells)


class CenterTF1Policy:
    """TF1 `center`: the centre cell `(h // 2, w // 2)` at every step."""

    name = "center_tf1"
    uses_glimpses = True

    def step(self, context, visited, training):
        h, w = context.grid
        center = center_cell(h, w)
        logits = tf.one_hot(center, h * w, on_value=0.0, off_value=-VISITED_PENALTY)[None]
        logits = logits + tf.zeros_like(visited)  # [B, N]
        cells = tf.fill([tf.shape(visited)[0]], tf.constant(center, tf.int32))
        return logits, cells, mark_visited(visited, cells)
