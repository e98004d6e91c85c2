"""Tiny models whose training step is deterministic, for comparing one step run two ways.

The MirroredStrategy, multi-worker and XLA tests run the same step on two set-ups (2 replicas vs
one device, XLA vs eager) from identical weights and compare the weights after it. Two things
legitimately differ between such runs and are switched off here:

- sampled glimpses: each replica folds its id into the seed, and XLA draws other random bits than
  TensorFlow's kernels, so the Saccader gets its learned policy in greedy form (`sample=False`) and
  DRAM a fixed-offset policy; both still have a non-zero REINFORCE gradient (log π of the chosen
  locations);
- BatchNormalization batch statistics: each replica normalises its own share of the batch, so
  `freeze_batch_norm` makes every BN layer use its inference statistics.

The subprocess scripts import this module (`from tests.support.comparable_models import ...`);
they run with the repository root on `PYTHONPATH`.
"""

import keras
import tensorflow as tf

from saccader_tf.models.dram.dram import DRAM
from saccader_tf.models.saccader.policies.standard import LearnedPolicy
from saccader_tf.models.saccader.saccader import Saccader

TINY_SACCADER = {"num_classes": 5, "image_size": 24, "variant": "bagnet9_tiny", "input_channels": 1}
TINY_DRAM = {"num_classes": 5, "image_size": 24, "variant": "dram_tiny", "input_channels": 1}


class OffsetLocationPolicy:
    """DRAM policy: the emitted mean shifted by a fixed `offset`, clipped to `[-1, 1]`.

    No sampling: deterministic, and its locations differ from the mean μ, so the REINFORCE term
    `log N(l; μ, σ²)` has a non-zero gradient w.r.t. μ.

    Args:
        offset: added to both coordinates of μ.
    """

    name = "offset"
    uses_glimpses = True

    def __init__(self, offset=0.05):
        self.offset = offset

    def locate(self, emitted, training):
        return tf.stop_gradient(tf.clip_by_value(emitted["mean"] + self.offset, -1.0, 1.0))


def freeze_batch_norm(model):
    """Makes every `BatchNormalization` layer of `model` use its inference statistics.

    Returns:
        `model`.
    """
    for layer in model._flatten_layers():  # noqa: SLF001 (Keras's own traversal)
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return model


def tiny_saccader(num_glimpses=6, seed=3, dtype=None, name=None):
    """A built tiny `Saccader` (24 px, 1 channel, 5 classes) with its own (sampling) policy.

    Args:
        num_glimpses: T.
        seed: the model's seed (set `keras.utils.set_random_seed` first for its initialisers).
        dtype: the model's dtype policy (`None`: float32).
        name: the model's name (`None`: Keras's default).
    """
    model = Saccader(**TINY_SACCADER, num_glimpses=num_glimpses, seed=seed, dtype=dtype, name=name)
    model.build()
    return model


def tiny_dram(num_glimpses=2, seed=3, dtype=None, name=None):
    """A built tiny `DRAM` (`dram_tiny`, 24 px, 1 channel, 5 classes) with its own policy.

    Arguments as for `tiny_saccader`.
    """
    model = DRAM(**TINY_DRAM, num_glimpses=num_glimpses, seed=seed, dtype=dtype, name=name)
    model.build()
    return model


def greedy_saccader(num_glimpses=6, seed=3, dtype=None, name=None, frozen_batch_norm=True):
    """`tiny_saccader` with the greedy learned policy, and BN frozen unless `frozen_batch_norm`
    is false."""
    model = tiny_saccader(num_glimpses, seed, dtype, name)
    model.policy = LearnedPolicy(model.cell, sample=False)
    return freeze_batch_norm(model) if frozen_batch_norm else model


def offset_dram(num_glimpses=2, seed=3, dtype=None, name=None, frozen_batch_norm=True):
    """`tiny_dram` with `OffsetLocationPolicy(0.05)`, and BN frozen unless `frozen_batch_norm`
    is false."""
    model = tiny_dram(num_glimpses, seed, dtype, name)
    model.policy = OffsetLocationPolicy(0.05)
    return freeze_batch_norm(model) if frozen_batch_norm else model
