"""DRAM's emission network and Gaussian location policy, and the policy's log-probability."""

import numbers

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from saccader_tf.layers.replica_seed import replica_seed


@keras.saving.register_keras_serializable(package="saccader_tf")
class GaussianLocationPolicy(keras.layers.Layer):
    """Emission network + Gaussian policy: where DRAM looks next.

        μ = tanh(W h + b) ∈ [-1, 1]²                        (emission network, `[B, 2]`)
        training:   l = clip(μ + σ ε, -1, 1),  ε ~ N(0, I)  (`tfp.distributions.Normal(μ, σ)`)
        inference:  l = μ

    `l` carries no gradient (REINFORCE trains μ through `gaussian_log_prob`). Samples use a
    stateless seed from a `keras.random.SeedGenerator(seed)` with the replica id folded in, so
    replicas of a distribution strategy draw different locations while a fixed seed reproduces a
    run.

    Args:
        stddev: σ of the policy (0.1 in the Saccader paper's DRAM).
        seed: optional int seed of the sampler.
        **kwargs: base-layer arguments.

    Call arguments:
        hidden: `[B, H]` output of the location LSTM.
        training: Python bool; `True` samples.

    Returns:
        A dict: `"mean"` μ float32 `[B, 2]` (differentiable), `"location"` l float32 `[B, 2]`.

    Example:
        >>> policy = GaussianLocationPolicy(seed=0)
        >>> policy(keras.ops.zeros((3, 8)), training=True)["location"].shape
        TensorShape([3, 2])

    Reference:
        Mnih et al., "Recurrent Models of Visual Attention", NeurIPS 2014; Ba et al., ICLR 2015.
    """

    def __init__(self, stddev=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, numbers.Real) or isinstance(stddev, bool) or not stddev > 0:
            raise ValueError(f"`stddev` must be a positive float. Received: stddev={stddev!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"`seed` must be None or an int. Received: seed={seed!r}")
        self.stddev = float(stddev)
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="location_seed")
        self.emission = keras.layers.Dense(
            2, activation="tanh", dtype=self.dtype_policy, name="emission"
        )

    def build(self, hidden_shape):
        self.emission.build(hidden_shape)
        self.built = True

    def call(self, hidden, training=None):
        mean = tf.cast(self.emission(hidden), tf.float32)
        if not training:
            return {"mean": mean, "location": tf.stop_gradient(mean)}
        sample = tfp.distributions.Normal(loc=mean, scale=self.stddev).sample(
            seed=replica_seed(self.seed_generator)
        )
        return {"mean": mean, "location": tf.stop_gradient(tf.clip_by_value(sample, -1.0, 1.0))}

    def compute_output_shape(self, hidden_shape):
        return {"mean": (hidden_shape[0], 2), "location": (hidden_shape[0], 2)}

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


def gaussian_log_prob(mean, locations, stddev):
    """log N(l; μ, σ²) summed over the two coordinates (the policy's log-probability).

        log π(l) = Σ_{k ∈ {y, x}} [ −(l_k − μ_k)² / (2σ²) − log σ − ½ log 2π ]

    Args:
        mean: μ, `[..., 2]` (gradients flow to it).
        locations: l, `[..., 2]` (treated as constants).
        stddev: σ.

    Returns:
        float32 `[...]`.
    """
    policy = tfp.distributions.Normal(loc=tf.cast(mean, tf.float32), scale=float(stddev))
    return tf.reduce_sum(policy.log_prob(tf.stop_gradient(tf.cast(locations, tf.float32))), axis=-1)
