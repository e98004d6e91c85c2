"""Glimpse policies: the learned Saccader cell and the non-learned baselines of DESIGN §3.5.

A policy is chosen when a model is built (`Saccader(policy=...)`) or evaluated
(`saccader.unroll(context, policy=make_policy("random"))`), never by a string inside `call`.
Every glimpse policy maps the state of one step — the `GlimpseContext` of an image batch and the
visited mask `C [B,N]` — to location logits `R [B,N]` (visited cells pushed down by
`VISITED_PENALTY`), a chosen cell `[B]` and the visited mask after the step (`C + onehot(cell)`,
the cell's own for `learned`, `mark_visited` for the others):

| policy           | logits R                                      | choice                    |
|------------------|-----------------------------------------------|---------------------------|
| `learned`        | the Saccader cell (§3.5)                      | sample (training) / argmax |
| `random`         | 0 − V·C (uniform over unvisited cells)        | always sampled (seeded)   |
| `ordered_logits` | Z[:, n, ĉ] − V·C, ĉ = argmax of full logits    | argmax                    |
| `center`         | −(squared distance to the grid centre) − V·C  | argmax (ties: lower index)|
| `sobel_mean`     | mean Sobel edge magnitude in the cell's box − V·C | argmax (`sobel_policies`) |
| `sobel_var`      | its variance in the cell's box − V·C          | argmax (`sobel_policies`) |
| `random_tf1` | log P(cell) of a snapped uniform location | sampled, may revisit (`tf1_policies`) |
| `center_tf1` | 0 at the centre cell, −V elsewhere | centre cell T times (`tf1_policies`) |

`random` and `center` are ours (distinct cells); `random_tf1` and `center_tf1` are the 2019 TF1
code's definitions, which may revisit a cell (see `saccader_tf.models.tf1_policies`).
`full` is not a glimpse policy: the model then answers with the BagNet's full-image logits.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.layers.replica_seed import replica_seed
from saccader_tf.layers.saccader_cell import VISITED_PENALTY, sample_categorical

POLICIES = (
    "learned",
    "random",
    "ordered_logits",
    "center",
    "full",
    "sobel_mean",
    "sobel_var",
    "random_tf1",
    "center_tf1",
)


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


class _FixedScorePolicy:
    """Argmax over a per-cell score with visited cells excluded."""

    uses_glimpses = True

    def scores(self, context):
        raise NotImplementedError

    def step(self, context, visited, training):
        logits = tf.cast(self.scores(context), tf.float32) - VISITED_PENALTY * visited
        cell = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return logits, cell, mark_visited(visited, cell)


class OrderedLogitsPolicy(_FixedScorePolicy):
    """The cells with the highest per-location logits of the predicted class, in order."""

    name = "ordered_logits"

    def scores(self, context):
        predicted = tf.argmax(context.full_logits, axis=-1, output_type=tf.int32)
        return tf.gather(context.patch_logits, predicted, axis=2, batch_dims=1)


class CenterPolicy(_FixedScorePolicy):
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


def make_policy(name, cell=None, seed=None):
    """Builds the policy called `name` (one of `POLICIES`).

    Args:
        name: one of `POLICIES`: `"learned"`, `"random"`, `"ordered_logits"`, `"center"`,
            `"full"`, `"sobel_mean"`, `"sobel_var"`, `"random_tf1"` or `"center_tf1"`.
        cell: the `SaccaderCell`, needed by `"learned"`.
        seed: seed of the `"random"` and `"random_tf1"` policies' samplers.
    """
    from saccader_tf.models import sobel_policies, tf1_policies  # they build on this module

    if name not in POLICIES:
        raise ValueError(f"`policy` must be one of {POLICIES}. Received: policy={name!r}")
    if name == "learned":
        if cell is None:
            raise ValueError(
                "The learned policy needs the model's SaccaderCell. Received: cell=None"
            )
        return LearnedPolicy(cell)
    if name == "random":
        return RandomPolicy(seed)
    if name == "random_tf1":
        return tf1_policies.RandomTF1Policy(seed)
    return {
        "ordered_logits": OrderedLogitsPolicy,
        "center": CenterPolicy,
        "full": FullImagePolicy,
        "sobel_mean": sobel_policies.SobelMeanPolicy,
        "sobel_var": sobel_policies.SobelVarPolicy,
        "center_tf1": tf1_policies.CenterTF1Policy,
    }[name]()
