"""ADCM: CBAM whose attention weights guide a dropout of its output (training only)."""

import keras
import tensorflow as tf

from saccader_tf.layers.cbam import CBAM, validate_cbam_arguments
from saccader_tf.layers.replica_seed import replica_seed

MODES = ("low", "high")
GRANULARITIES = ("element", "channel", "position")
MIN_MEAN_SCORE = 1e-12  # Guards rate · g / mean(g) when every g is 0 (then p = 0 either way).


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_adcm_arguments(rate, p_max, mode, granularity):
    """Raises `ValueError` unless `0 <= rate <= p_max < 1`, `p_max > 0` and the strings are
    known."""
    if not _is_number(rate) or not 0 <= rate < 1:
        raise ValueError(f"`rate` must be a number in [0, 1). Received: rate={rate!r}")
    if not _is_number(p_max) or not 0 < p_max < 1:
        raise ValueError(f"`p_max` must be a number in (0, 1). Received: p_max={p_max!r}")
    if rate > p_max:
        raise ValueError(f"`rate` must not exceed `p_max` ({p_max!r}). Received: rate={rate!r}")
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
    if granularity not in GRANULARITIES:
        raise ValueError(
            f"`granularity` must be one of {GRANULARITIES}. Received: granularity={granularity!r}"
        )


@keras.saving.register_keras_serializable(package="saccader_tf")
class ADCM(keras.layers.Layer):
    """Attention-dropout convolutional module: CBAM followed by an attention-guided dropout.

    With `y = CBAM(x)` and the CBAM weight maps `M_c` `[B, 1, 1, C]` and `M_s` `[B, H, W, 1]` (under
    `stop_gradient`), the attention weights `a` are, by `granularity`:

    - `"element"`: `a = M_c · M_s`, `[B, H, W, C]` (one draw per element);
    - `"channel"`: `a = M_c`, `[B, 1, 1, C]` (one draw per channel and example);
    - `"position"`: `a = M_s`, `[B, H, W, 1]` (one draw per position and example).

    The drop probability is `p = clip(rate · g(a) / mean(g(a)), 0, p_max)`, with the mean taken per
    example over the non-batch axes of `a`, and `g(a) = 1 - a` for `mode="low"` (low-attention
    features are dropped more often; keeps the network's focus) or `g(a) = a` for `mode="high"` (the
    most attended features are dropped more often, ADL-style; spreads the evidence). A keep mask
    `m ~ Bernoulli(1 - p)` gives `output = y · m / (1 - p)` (inverted dropout: `E[output] = y`).
    Before clipping the mean drop probability of each example is exactly `rate`; clipping at `p_max`
    can only lower some probabilities, so the realised mean drop rate can be slightly lower than
    `rate` when the attention is very uneven.

    In training only; at inference (`training` false or `None`) the output is exactly `CBAM(x)`,
    with the same weights (ADCM holds its CBAM as the sublayer `cbam`). The probabilities are
    computed in float32 and the mask is cast to the compute dtype. Random draws come from a
    `keras.random.SeedGenerator(seed)` with the distribute replica id folded in, so replicas draw
    different masks while a fixed `seed` reproduces them.

    Args:
        rate: target mean drop probability, in `[0, p_max]`.
        p_max: upper bound of every drop probability, in `(0, 1)`.
        mode: `"low"` or `"high"`, which features are dropped more often.
        granularity: `"element"`, `"channel"` or `"position"`, what one draw drops.
        reduction: CBAM's channel reduction ratio.
        kernel_size: odd size of CBAM's spatial convolution.
        seed: integer seed of the dropout, or `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, H, W, C]` feature map.
        training: whether to drop.

    Returns:
        `[B, H, W, C]`: the CBAM output, with dropped features zeroed and kept ones scaled by
        `1 / (1 - p)` in training.

    Example:

    >>> adcm = ADCM(rate=0.1, reduction=4, seed=0)
    >>> x = keras.random.uniform((2, 8, 8, 16))
    >>> adcm(x, training=True).shape
    TensorShape([2, 8, 8, 16])
    >>> bool(keras.ops.all(adcm(x) == adcm.cbam(x)))
    True

    Reference:
        Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018; Choe & Shim,
        "Attention-based Dropout Layer for Weakly Supervised Object Localization", CVPR 2019;
        Srivastava et al., "Dropout", JMLR 2014.
    """

    def __init__(
        self,
        rate=0.1,
        p_max=0.5,
        mode="low",
        granularity="element",
        reduction=16,
        kernel_size=7,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        validate_adcm_arguments(rate, p_max, mode, granularity)
        validate_cbam_arguments(reduction, kernel_size)
        self.rate = rate
        self.p_max = p_max
        self.mode = mode
        self.granularity = granularity
        self.reduction = reduction
        self.kernel_size = kernel_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.cbam = CBAM(
            reduction=self.reduction,
            kernel_size=self.kernel_size,
            name="cbam",
            dtype=self.dtype_policy,
        )
        self.cbam.build(tuple(input_shape))

    def _probabilities(self, channel_weights, spatial_weights):
        """Drop probabilities `p` in float32, shaped by `granularity`."""
        channel_weights = tf.cast(tf.stop_gradient(channel_weights), tf.float32)
        spatial_weights = tf.cast(tf.stop_gradient(spatial_weights), tf.float32)
        if self.granularity == "element":
            attention = channel_weights * spatial_weights
        elif self.granularity == "channel":
            attention = channel_weights
        else:
            attention = spatial_weights
        scores = 1.0 - attention if self.mode == "low" else attention
        mean = tf.reduce_mean(scores, axis=(1, 2, 3), keepdims=True)
        ratio = scores / tf.maximum(mean, MIN_MEAN_SCORE)
        return tf.clip_by_value(self.rate * ratio, 0.0, self.p_max)

    def drop_probabilities(self, inputs):
        """The drop probabilities `p` that a training call on `inputs` would use.

        Args:
            inputs: `[B, H, W, C]` feature map.

        Returns:
            float32 `[B, H, W, C]`, `[B, 1, 1, C]` or `[B, H, W, 1]` for granularity `"element"`,
            `"channel"` or `"position"`.
        """
        if not self.built:
            self.build(tuple(inputs.shape))
        return self._probabilities(*self.cbam.attention_maps(inputs))

    def attention_maps(self, inputs):
        """CBAM's `(channel_weights [B, 1, 1, C], spatial_weights [B, H, W, 1])`."""
        if not self.built:
            self.build(tuple(inputs.shape))
        return self.cbam.attention_maps(inputs)

    def call(self, inputs, training=None):
        outputs, channel_weights, spatial_weights = self.cbam.call_with_attention(inputs)
        if not training:
            return outputs
        probabilities = self._probabilities(channel_weights, spatial_weights)
        uniform = tf.random.stateless_uniform(
            tf.shape(probabilities), seed=replica_seed(self.seed_generator), dtype=tf.float32
        )
        keep = tf.cast(uniform >= probabilities, tf.float32)  # P(keep) = 1 - p.
        scale = keep / (1.0 - probabilities)
        return outputs * tf.cast(scale, outputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rate": self.rate,
                "p_max": self.p_max,
                "mode": self.mode,
                "granularity": self.granularity,
                "reduction": self.reduction,
                "kernel_size": self.kernel_size,
                "seed": self.seed,
            }
        )
        return config
