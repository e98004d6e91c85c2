"""DRAM, the Saccader paper's recurrent hard-attention baseline (Ba et al. 2015, as reimplemented
in the official Saccader code), with the Saccader's output, evaluation and export conventions."""

import dataclasses

import keras
import tensorflow as tf

from saccader_tf.models.dram.glimpse_network import GlimpseNetwork
from saccader_tf.models.dram.location_policy import GaussianLocationPolicy
from saccader_tf.models.dram.multi_resolution_glimpse import corner_cells, glimpse_corners
from saccader_tf.models.dram.policies import DRAM_POLICIES, make_dram_policy
from saccader_tf.models.dtype_policy import logits_dtype
from saccader_tf.models.geometry import cell_boxes
from saccader_tf.utils.validation import check_int

OUTPUT_KEYS = ("logits", "glimpse_logits", "cells", "glimpse_boxes", "locations", "mean_locations")

# Architectures as data. `dram_resnet50v2` is the paper's (224 px, 77 px glimpses);
# `dram_small` is ours for the built-in 60 px data: 29 px glimpses (the receptive field of
# `bagnet29_small`) and a CNN + LSTM sized so that its training step is comparable to the
# Saccader's stage-3 step (docs/results/saccader_vs_dram.md); `dram_tiny` is for tests.
DRAM_VARIANTS = {
    "dram_resnet50v2": dict(glimpse_size=77, backbone="resnet50v2", widths=(), lstm_units=1024),
    "dram_small": dict(
        glimpse_size=29, backbone="small_cnn", widths=(16, 32, 64, 64), lstm_units=256
    ),
    "dram_tiny": dict(glimpse_size=9, backbone="small_cnn", widths=(4, 8), lstm_units=8),
}


@dataclasses.dataclass(frozen=True)
class DramContext:
    """The context step's result: prepared images, the location LSTM's state and its emission."""

    prepared: tf.Tensor
    location_state: list
    emitted: dict


@keras.saving.register_keras_serializable(package="saccader_tf")
class DRAM(keras.Model):
    """Deep recurrent attention model: glimpse network → LSTM0 → classes; LSTM0 → LSTM1 → where
    next.

    Context step: a glimpse at the centre with all n resolutions → LSTM0 (zero state) → LSTM1
    (zero state) → emission μ₁ → policy → l₁; LSTM1 keeps its state, LSTM0 is reset. Then for
    t = 1..T: glimpse at l_t with the high-resolution field only (the others are replaced by their
    spatial means) → LSTM0 → `logits_t = Dense_K(h0_t)` → LSTM1 → μ_{t+1} → l_{t+1}. The prediction
    after t glimpses is `logits_t` (the last step's logits, as in the paper; not a mean over steps).
    Policy (`GaussianLocationPolicy`, σ = `stddev`): l = clip(μ + σ ε) in training, l = μ in
    inference, so inference is deterministic and its first k locations do not depend on T.
    See docs/design.md, "DRAM".

    Args:
        num_classes: K.
        image_size: S of the square input images.
        variant: a key of `DRAM_VARIANTS` (glimpse size, backbone, CNN widths, LSTM units).
        input_channels: C.
        num_glimpses: default T (change it per call with `num_glimpses=`).
        policy: `"learned"`, `"random"` or `"center"` (`DRAM_POLICIES`).
        num_resolutions: n fields of view (3).
        stddev: σ of the Gaussian policy (0.1).
        seed: seed of the location sampler.
        **kwargs: base-model arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `[B, S, S, C]` float images, normalised as in training.
        training: samples locations and uses batch statistics when `True`.
        num_glimpses: optional T for this call.

    Returns:
        A dict (keys `OUTPUT_KEYS`): `"logits"` float32 `[B, K]` (= `glimpse_logits[:, -1]`);
        `"glimpse_logits"` float32 `[B, T, K]` (the prediction after t glimpses); `"cells"` int32
        `[B, T]` (top-left pixel index `top·(S−g+1) + left` of each glimpse); `"glimpse_boxes"`
        int32 `[B, T, 4]` (ymin, xmin, ymax, xmax, end-exclusive pixels: the g x g high-resolution
        box); `"locations"` float32 `[B, T, 2]` (l_t in `[-1, 1]`, no gradient); `"mean_locations"`
        float32 `[B, T, 2]` (μ_t, differentiable: REINFORCE's log-probabilities).

    Example:

    >>> model = DRAM(num_classes=10, image_size=60, variant="dram_small", input_channels=1)
    >>> model(keras.ops.zeros((2, 60, 60, 1)), num_glimpses=3)["glimpse_boxes"].shape
    TensorShape([2, 3, 4])

    Reference:
        Ba, Mnih & Kavukcuoglu, "Multiple Object Recognition with Visual Attention", ICLR 2015;
        Elsayed, Kornblith & Le, "Saccader", NeurIPS 2019 (DRAM baseline of its comparison).
    """

    def __init__(
        self,
        num_classes,
        image_size,
        variant="dram_small",
        input_channels=3,
        num_glimpses=6,
        policy="learned",
        num_resolutions=3,
        stddev=0.1,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if variant not in DRAM_VARIANTS:
            raise ValueError(
                f"`variant` must be one of {sorted(DRAM_VARIANTS)}. Received: variant={variant!r}"
            )
        check_int("num_glimpses", num_glimpses)
        spec = DRAM_VARIANTS[variant]
        self.glimpse_network = GlimpseNetwork(
            image_size=image_size,
            glimpse_size=spec["glimpse_size"],
            input_channels=input_channels,
            num_resolutions=num_resolutions,
            backbone=spec["backbone"],
            widths=spec["widths"] or (1,),
            dtype=self.dtype_policy,
            name="glimpse_network",
        )
        units = spec["lstm_units"]
        self.classification_lstm = keras.layers.LSTMCell(
            units, dtype=self.dtype_policy, name="lstm0"
        )
        self.location_lstm = keras.layers.LSTMCell(units, dtype=self.dtype_policy, name="lstm1")
        self.classifier = keras.layers.Dense(
            num_classes, dtype=logits_dtype(self.dtype_policy), name="classifier"
        )  # float32 logits in mixed precision
        self.location_policy = GaussianLocationPolicy(
            stddev=stddev, seed=seed, dtype=self.dtype_policy, name="location_policy"
        )
        self.policy = make_dram_policy(policy, seed=seed)
        self.num_classes, self.image_size, self.variant = num_classes, image_size, variant
        self.input_channels, self.num_glimpses = input_channels, num_glimpses
        self.policy_name = policy
        self.num_resolutions, self.stddev, self.seed = num_resolutions, stddev, seed
        self.glimpse_size = spec["glimpse_size"]
        self.lstm_units = units
        self.grid = image_size - self.glimpse_size + 1  # positions of a glimpse's top-left corner

    def build(self, input_shape=None):
        features = self.glimpse_network.output_size
        self.glimpse_network.build()
        self.classification_lstm.build((None, features))
        self.location_lstm.build((None, self.lstm_units))
        self.classifier.build((None, self.lstm_units))
        self.location_policy.build((None, self.lstm_units))
        self.built = True

    def policy_named(self, name, seed=None):
        """A policy object for `unroll` (evaluation of the `random` and `center` baselines)."""
        return make_dram_policy(name, seed=seed)

    def context(self, images, training=None):
        """The context step (centre, all resolutions): `(DramContext, {})`."""
        if not self.built:
            self.build(images.shape)
        prepared = self.glimpse_network.prepare(images)
        centre = tf.zeros([tf.shape(images)[0], 2], tf.float32)
        features = self.glimpse_network(prepared, centre, training=training, prepared=True)
        hidden, _ = self.classification_lstm(
            features, self._zero_state(features), training=training
        )
        location_hidden, location_state = self.location_lstm(
            hidden, self._zero_state(hidden), training=training
        )
        emitted = self.location_policy(location_hidden, training=training)
        return DramContext(prepared=prepared, location_state=location_state, emitted=emitted), {}

    def unroll(self, context, num_glimpses=None, policy=None, training=None):
        """The T glimpse steps after the context step; returns the output dict (`OUTPUT_KEYS`)."""
        policy = policy or self.policy
        steps = self.num_glimpses if num_glimpses is None else num_glimpses
        check_int("num_glimpses", steps)
        emitted, location_state = context.emitted, context.location_state
        high_only = (True,) + (False,) * (self.num_resolutions - 1)
        state, logits, locations, means = None, [], [], []
        for t in range(steps):
            location = policy.locate(emitted, training)
            locations.append(location)
            means.append(emitted["mean"])
            features = self.glimpse_network(
                context.prepared,
                location,
                use_resolution=high_only,
                training=training,
                prepared=True,
            )
            hidden, state = self.classification_lstm(
                features, state or self._zero_state(features), training=training
            )
            logits.append(tf.cast(self.classifier(hidden), tf.float32))
            if t + 1 < steps:  # the last step's emission would never be used
                location_hidden, location_state = self.location_lstm(
                    hidden, location_state, training=training
                )
                emitted = self.location_policy(location_hidden, training=training)
        locations = tf.stack(locations, axis=1)
        corners = glimpse_corners(locations, self.image_size, self.glimpse_size)
        cells = corner_cells(corners, self.image_size, self.glimpse_size)
        glimpse_logits = tf.stack(logits, axis=1)
        return {
            "logits": glimpse_logits[:, -1],
            "glimpse_logits": glimpse_logits,
            "cells": cells,
            "glimpse_boxes": self.boxes(cells),
            "locations": locations,
            "mean_locations": tf.stack(means, axis=1),
        }

    def call(self, images, training=None, num_glimpses=None):
        context, _ = self.context(images, training=training)
        return self.unroll(context, num_glimpses=num_glimpses, training=training)

    def boxes(self, cells):
        """High-resolution glimpse boxes `[..., 4]` (int32 pixels, end-exclusive) of cell
        indices."""
        return cell_boxes(cells, self.grid, 1, self.glimpse_size)

    @property
    def num_cells(self):
        """Number `N = grid * grid` of glimpse positions (cell indices `[0, N)`)."""
        return self.grid * self.grid

    @staticmethod
    def logits_after_glimpses(glimpse_logits, t):
        """The prediction after the first t glimpses: the logits of step t, `[B, K]`."""
        return glimpse_logits[:, t - 1]

    def _zero_state(self, like):
        zeros = tf.zeros([tf.shape(like)[0], self.lstm_units], self.compute_dtype)
        return [zeros, zeros]

    @property
    def location_variables(self):
        """Trainable variables of LSTM1 and the emission network."""
        return self.location_lstm.trainable_variables + self.location_policy.trainable_variables

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            image_size=self.image_size,
            variant=self.variant,
            input_channels=self.input_channels,
            num_glimpses=self.num_glimpses,
            policy=self.policy_name,
            num_resolutions=self.num_resolutions,
            stddev=self.stddev,
            seed=self.seed,
        )
        return config


__all__ = ["DRAM", "DRAM_POLICIES", "DRAM_VARIANTS", "DramContext", "OUTPUT_KEYS"]
