"""Location policies of DRAM: its learned Gaussian policy and the `random` / `center` baselines.

A DRAM policy maps one step's emission output (`GaussianLocationPolicy`'s `{"mean", "location"}`)
to the next location `[B, 2]` in `[-1, 1]²`:

| policy    | location                                             |
|-----------|------------------------------------------------------|
| `learned` | the Gaussian sample (training) or its mean μ (inference) |
| `random`  | uniform in `[-1, 1]²`, sampled in training and inference |
| `center`  | `(0, 0)` at every step                               |

Chosen when the model is built (`DRAM(policy=...)`) or evaluated (`dram.policy_named(name)`).
"""

import keras
import tensorflow as tf

from saccader_tf.layers.replica_seed import replica_seed

DRAM_POLICIES = ("learned", "random", "center")


class LearnedLocationPolicy:
    """DRAM's own policy: the emission network's sample (training) or mean (inference)."""

    name = "learned"
    uses_glimpses = True

    def locate(self, emitted, training):
        return emitted["location"]


class RandomLocationPolicy:
    """Uniform locations in `[-1, 1]²` (seeded, different per replica)."""

    name = "random"
    uses_glimpses = True

    def __init__(self, seed=None):
        self.seed_generator = keras.random.SeedGenerator(seed, name="random_location_seed")

    def locate(self, emitted, training):
        shape = tf.shape(emitted["mean"])
        return tf.random.stateless_uniform(
            shape, seed=replica_seed(self.seed_generator), minval=-1.0, maxval=1.0
        )


class CenterLocationPolicy:
    """Always the image centre."""

    name = "center"
    uses_glimpses = True

    def locate(self, emitted, training):
        return tf.zeros_like(emitted["mean"])


def make_dram_policy(name, seed=None):
    """The DRAM policy called `name` (one of `DRAM_POLICIES`)."""
    if name not in DRAM_POLICIES:
        raise ValueError(f"DRAM `policy` must be one of {DRAM_POLICIES}. Received: policy={name!r}")
    if name == "random":
        return RandomLocationPolicy(seed)
    return {"learned": LearnedLocationPolicy, "center": CenterLocationPolicy}[name]()
