"""The learned policy (the Saccader cell) and the plain baselines: `random`, `ordered_logits`,
`center` and `full` (see `saccader_tf.models.saccader.policies` for the table of all policies)."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.layers.replica_seed import replica_seed
from saccader_tf.models.saccader.cell import VISITED_PENALTY, sample_categorical, visited_before
from saccader_tf.models.saccader.policies.base import FixedScorePolicy, mark_visited


class LearnedPolicy:
    """The Saccader cell: samples from Categorical(R) in training, argmax in inference.

    Args:
        cell: the model's `SaccaderCell`.
        sample: `False` takes the argmax in training too: a deterministic policy whose training
            steps can be recomputed exactly (e.g. to compare distributed and single-device steps).
    """

    name = "learned"
    uses_glimpses = True

    def __init__(self, cell, sample=True):
        self.cell = cell
        self.sample = sample

    def step(self, context, visited, training):
        out = self.cell(context.mixed, visited, training=bool(training) and self.sample)
        return out["location_logits"], out["cell"], out["visited"]

    def location_logits_of(self, context, cells):
        """The logits R^t `[B, T, N]` the steps had when they chose `cells` `[B, T]` (the same
        values as the steps', up to float rounding; computed at once, differentiably)."""
        num_cells = context.mixed.shape[1] or tf.shape(context.mixed)[1]
        return self.cell.masked_location_logits(context.mixed, visited_before(cells, num_cells))


class OrderedLogitsPolicy(FixedScorePolicy):
    """The cells with the highest per-location logits of the predicted class, in order."""

    name = "ordered_logits"

    def scores(self, context):
        predicted = tf.argmax(context.full_logits, axis=-1, output_type=tf.int32)
        return tf.gather(context.patch_logits, predicted, axis=2, batch_dims=1)


class CenterPolicy(FixedScorePolicy):
    """The cells nearest the grid centre first (a fixed, image-independent order)."""

    name = "center"

    def scores(self, context):
        h, w = context.grid
        i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        distance = (i - (h - 1) / 2) ** 2 + (j - (w - 1) / 2) ** 2
        # A tiny index-dependent term makes ties deterministic: the lower index wins.
        score = -distance.reshape(-1) - 1e-3 * np.arange(h * w) / (h * w)
        batch = tf.shape(context.mixed)[0]
        return tf.tile(tf.constant(score[None], tf.float32), [batch, 1])


class RandomPolicy:
    """Uniform over the unvisited cells, sampled in training and inference alike."""

    name = "random"
    uses_glimpses = True

    def __init__(self, seed=None):
        self.seed_generator = keras.random.SeedGenerator(seed, name="random_policy_seed")

    def step(self, context, visited, training):
        logits = -VISITED_PENALTY * visited
        sample = sample_categorical(logits, replica_seed(self.seed_generator))
        return logits, sample, mark_visited(visited, sample)


class FullImagePolicy:
    """No glimpses: the model returns the representation network's full-image logits."""

    name = "full"
    uses_glimpses = False
