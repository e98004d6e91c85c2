"""The Saccader cell: one glimpse step choosing an unvisited grid cell from the mixed features M."""

import math
import numbers

import keras
import tensorflow as tf

from saccader_tf.layers.replica_seed import replica_seed

# V: added (negated) to the logits of visited cells, so their softmax probability underflows to 0.
VISITED_PENALTY = 1e5


@keras.saving.register_keras_serializable(package="saccader_tf")
class SaccaderCell(keras.layers.Layer):
    """One Saccader glimpse step: location logits from M and the visited mask, then a cell choice.

    With M flattened to `[B, N, D]` (N = h * w cells, cell (i, j) at index i * w + j), the visited
    mask C in {0, 1}^N and V = `VISITED_PENALTY` = 1e5:

        a    = (M w) / sqrt(D) - V C                  spatial logits          [B, N]
        alpha = softmax_N(a)                          spatial weights         [B, N]
        beta  = softmax_D(sum_n alpha_n M_n)          channel weights         [B, D]
        R_n  = sum_k beta_k M_nk - V C_n              location logits         [B, N]
        l    ~ Categorical(logits=R)  (training)  or  argmax_n R_n  (inference)
        C'   = C + onehot(l)

    Visited cells get probability exactly 0 (exp underflows in float32), so successive steps pick
    distinct cells as long as at most N steps are taken. All of this is computed in float32 (M and
    w are cast; V would overflow float16), so every float output is float32 under any dtype policy.
    The only trainable weight is w, shape `[D]`, initialised from N(0, 1/D) (stddev 1/sqrt(D)):
    small random rather than zeros, so the spatial weights start near-uniform but not exactly
    uniform and the gradient w.r.t. w is not degenerate. Sampling draws a stateless seed from a
    `keras.random.SeedGenerator(seed)` with the replica id folded in (`replica_seed`), so a fixed
    `seed` reproduces a sequence while replicas of a distribution strategy sample differently.
    See docs/design.md, "Saccader cell".

    Args:
        seed: optional int, seed of the sampling `SeedGenerator` (not of the weight initialiser).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        features: mixed features M, `[B, h, w, D]` or `[B, N, D]`.
        visited: visited mask C, `[B, N]` of 0/1 (float or int); zeros at the first step.
        training: Python bool; `True` samples the cell, `False`/`None` takes the argmax.

    Returns:
        A dict with fixed keys:
            `"location_logits"`: R, float32 `[B, N]` (visited cells near -1e5);
            `"probabilities"`: softmax(R), float32 `[B, N]`, exactly 0 at visited cells;
            `"cell"`: chosen cell index, int32 `[B]`;
            `"visited"`: C + onehot(cell), float32 `[B, N]`.

    Example:
        >>> cell = SaccaderCell(seed=0)
        >>> features = keras.random.normal((2, 3, 3, 8))
        >>> out = cell(features, keras.ops.zeros((2, 9)))
        >>> out["cell"].shape, out["visited"].shape
        (TensorShape([2]), TensorShape([2, 9]))

    Reference:
        Elsayed, Kornblith, Le. "Saccader: Improving Accuracy of Hard Attention Models for Vision".
        NeurIPS 2019, arXiv 1908.07644.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"`seed` must be None or an int. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="sampling_seed")

    def build(self, features_shape, visited_shape):
        features_shape, visited_shape = tuple(features_shape), tuple(visited_shape)
        if len(features_shape) not in (3, 4) or features_shape[-1] is None:
            raise ValueError(
                "`features` must be [B, h, w, D] or [B, N, D] with a known D. "
                f"Received: features_shape={features_shape}"
            )
        cells = _known_product(features_shape[1:-1])
        visited_cells = _known_product(visited_shape[1:])
        if cells is not None and visited_cells is not None and cells != visited_cells:
            raise ValueError(
                f"`visited` must have one entry per cell ({cells}). "
                f"Received: visited_shape={visited_shape}"
            )
        depth = features_shape[-1]
        self.w = self.add_weight(
            shape=(depth,),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(depth)),
            name="w",
            autocast=False,
        )

    def step_maps(self, features, visited):
        """Spatial weights alpha, channel weights beta and location logits R of one step.

        Args:
            features: M, `[B, h, w, D]` or `[B, N, D]`.
            visited: C, `[B, N]` (0/1).

        Returns:
            A dict of float32 tensors: `"spatial_weights"` alpha `[B, N]`, `"channel_weights"`
            beta `[B, D]`, `"location_logits"` R `[B, N]`.
        """
        if not self.built:
            self.build(tuple(features.shape), tuple(visited.shape))
        mixed, visited = _flatten(features, visited)
        depth = mixed.shape[-1]
        w = tf.cast(tf.convert_to_tensor(self.w), tf.float32)
        penalty = VISITED_PENALTY * visited
        spatial_logits = tf.einsum("bnd,d->bn", mixed, w) / math.sqrt(depth) - penalty
        alpha = tf.nn.softmax(spatial_logits, axis=-1)
        beta = tf.nn.softmax(tf.einsum("bn,bnd->bd", alpha, mixed), axis=-1)
        logits = tf.einsum("bnd,bd->bn", mixed, beta) - penalty
        return {"spatial_weights": alpha, "channel_weights": beta, "location_logits": logits}

    def location_logits(self, features, visited):
        """Location logits R, float32 `[B, N]` (see the class docstring)."""
        return self.step_maps(features, visited)["location_logits"]

    def masked_location_logits(self, features, visited_steps):
        """Location logits R^t of T steps at once, for known visited masks C^t.

        The maths of `location_logits` applied to each `visited_steps[:, t]`, computed as batched
        matrix products over the T steps: `M w` once, `alpha` `[B, T, N]`, `beta = softmax(alpha
        M)` `[B, T, D]` and `R = beta Mᵀ − V C` `[B, T, N]`. Equal to the T separate steps up to
        float rounding, and much faster to differentiate (one product per contraction instead of
        T outer products `[B, N, D]`), which is what stage 2's teacher forcing and stage 3's
        gradient use.

        Args:
            features: M, `[B, h, w, D]` or `[B, N, D]`.
            visited_steps: C^t, `[B, T, N]` (0/1).

        Returns:
            float32 `[B, T, N]`.
        """
        if not self.built:
            self.build(tuple(features.shape), tuple(visited_steps.shape[::2]))
        mixed, _ = _flatten(features, visited_steps[:, 0])
        depth = mixed.shape[-1]
        w = tf.cast(tf.convert_to_tensor(self.w), tf.float32)
        penalty = VISITED_PENALTY * tf.cast(visited_steps, tf.float32)
        spatial = tf.einsum("bnd,d->bn", mixed, w) / math.sqrt(depth)
        alpha = tf.nn.softmax(spatial[:, None, :] - penalty, axis=-1)
        beta = tf.nn.softmax(tf.matmul(alpha, mixed), axis=-1)
        return tf.matmul(beta, mixed, transpose_b=True) - penalty

    def call(self, features, visited, training=None):
        logits = self.location_logits(features, visited)
        if training:
            seed = replica_seed(self.seed_generator)
            cell = sample_categorical(logits, seed)
        else:
            cell = tf.argmax(logits, axis=-1, output_type=tf.int32)
        _, visited = _flatten(features, visited)
        cells = logits.shape[-1] if logits.shape[-1] is not None else tf.shape(logits)[-1]
        return {
            "location_logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "cell": cell,
            "visited": visited + tf.one_hot(cell, cells, dtype=tf.float32),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


def _known_product(dims):
    """Product of `dims`, or None when one of them is unknown."""
    if any(d is None for d in dims):
        return None
    return math.prod(dims)


def _flatten(features, visited):
    """M as float32 `[B, N, D]` and C as float32 `[B, N]` (N static when h and w are)."""
    features = tf.cast(features, tf.float32)
    cells = _known_product(features.shape[1:-1])
    cells = -1 if cells is None else cells
    batch = tf.shape(features)[0]
    mixed = tf.reshape(features, [batch, cells, features.shape[-1]])
    return mixed, tf.reshape(tf.cast(visited, tf.float32), [batch, cells])


def visited_before(cells, num_cells):
    """The visited masks C^t `[B, T, N]` (float32) of a cell sequence: step t has visited the
    cells `cells[:, :t]` (an exclusive cumulative sum of their one-hot vectors).

    Args:
        cells: int `[B, T]` distinct cells in visiting order.
        num_cells: N.
    """
    return tf.cumsum(tf.one_hot(cells, num_cells, dtype=tf.float32), axis=1, exclusive=True)


def sample_categorical(logits, seed):
    """One draw per row of `Categorical(logits)`, int32 `[B]`, for a stateless `seed` `[2]`.

    The same numbers as `tfp.distributions.Categorical(logits, dtype=tf.int32).sample(seed=seed)`
    (tfp draws with `tf.random.stateless_categorical` too), without tfp's int32 transpose of the
    draws, which makes TensorFlow's oneDNN build log an `E0000 ... oneDNN supports DT_INT32 only
    ...` line on CPUs. The policy-gradient loss still scores the draws with tfp's Categorical
    (`training.losses.policy_log_probs`).
    """
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]
