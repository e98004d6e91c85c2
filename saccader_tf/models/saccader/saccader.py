"""The Saccader model: BagNet + attention network + what/where mixing + a glimpse loop."""

import dataclasses

import keras
import tensorflow as tf

from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.receptive_field import check_cell_count
from saccader_tf.models.geometry import cell_boxes
from saccader_tf.models.saccader.attention_network import AttentionNetwork
from saccader_tf.models.saccader.cell import SaccaderCell, visited_before
from saccader_tf.models.saccader.policies.base import GlimpseContext
from saccader_tf.models.saccader.policies.registry import make_policy
from saccader_tf.models.saccader.readouts import make_readout
from saccader_tf.models.saccader.what_where_mixer import WhatWhereMixer

OUTPUT_KEYS = (
    "logits",
    "glimpse_logits",
    "cells",
    "location_logits",
    "probabilities",
    "glimpse_boxes",
    "full_logits",
    "patch_logits",
)


@keras.saving.register_keras_serializable(package="saccader_tf")
class Saccader(keras.Model):
    """Hard-attention classifier that decides from `T` self-chosen image patches.

    images → BagNet → features P `[B,h,w,F]`, "what" Q `[B,h,w,D_q]`, per-location logits Z
    `[B,h,w,K]`; where G = AttentionNetwork(P); mixed M = Conv1x1(concat[G, Q]) `[B,h,w,D]`.
    For t = 1..T a policy (the learned `SaccaderCell` by default) picks an unvisited cell `l^t`
    from M and the visited mask; the glimpse's logits are `y^t = Z[l^t]` (hard readout; or
    `y^t = Σ_n π^t_n Z_n` with `readout="soft"`) and the prediction is `ŷ = mean_t y^t`. The
    glimpse box of `l^t` is the exact receptive field of that cell. In inference mode the learned
    policy is deterministic and has no memory besides the visited mask, so the first k glimpses do
    not depend on T.

    Args:
        num_classes: number of classes `K`.
        image_size: side `S` of the square input images.
        variant: BagNet variant (see `saccader_tf.models.bagnet.variants.VARIANTS`).
        input_channels: channels `C` of the images.
        num_glimpses: default number of glimpses `T` (change it per call with `num_glimpses=`).
        policy: a name from `saccader_tf.models.POLICIES` (`"learned"`, `"random"`,
            `"ordered_logits"`, `"center"`, `"full"`, `"sobel_mean"`, `"sobel_var"`,
            `"random_tf1"`, `"center_tf1"`); chosen here (evaluation can also pass a policy object
            to `unroll`).
        attention_widths: the attention network's four widths; default from F (F/2, F/2, F/4, F/4).
        mixing_width: width `D` of M; default: the width of Q.
        attention: optional `"cbam"`/`"adcm"` module at the end of the attention network.
        bagnet_attention: optional `"cbam"`/`"adcm"` inside the BagNet blocks (non-local BagNet).
        bagnet_kwargs: extra `BagNet` arguments (architecture overrides).
        seed: seed of the glimpse sampler (and of the `random` policy).
        readout: `"hard"` (default: y^t = Z at the chosen cell) or `"soft"` (the TF1 code's
            soft-attention ablation: y^t = Σ_n π^t_n Z_n with π^t = softmax(R^t), the step's
            location probabilities; ŷ = mean over the T steps). See
            `saccader_tf.models.saccader.readouts`.
        **kwargs: `name`, `dtype` and other base-model arguments.

    Call arguments:
        images: `[B, S, S, C]` float images, normalised as in training.
        training: `True` samples glimpses and updates BN statistics.
        num_glimpses: optional `T` for this call (no new weights are created).

    Returns:
        A dict (keys in `OUTPUT_KEYS`): `"logits"` `[B,K]` (float32); `"glimpse_logits"` `[B,T,K]`;
        `"cells"` int32 `[B,T]` (cell index i·w + j); `"location_logits"` `[B,T,N]` (R^t, for
        log-probabilities); `"probabilities"` `[B,T,N]`; `"glimpse_boxes"` int32 `[B,T,4]`
        (ymin, xmin, ymax, xmax, end-exclusive pixels); `"full_logits"` `[B,K]` (the BagNet's
        full-image logits); `"patch_logits"` `[B,h,w,K]`. With `policy="full"`, `"logits"` are the
        full-image logits and the glimpse outputs have `T = 0`.

        Which network the full-image outputs (`"full_logits"`, `"patch_logits"`, `policy="full"`)
        reflect: the BagNet weights this model holds. After stage 1 (and stage 2, which freezes the
        BagNet) that is the full-image classifier stage 1 trained. After stage 3 it is the BagNet
        as stage 3 left it: with the default `full_image_loss_weight=1` (`PolicyGradientTrainer`)
        still trained as a full-image classifier; with 0 (the paper's stage 3) trained only
        through the sampled glimpses, so the cells away from them decay and it becomes a worse
        full-image classifier (measured in docs/results/full_image_loss.md). The stage-1
        classifier stays in `model_dir/stage1/saccader.weights.h5`
        (`saccader_tf.evaluation.stage1_network`); see docs/design.md, "Training stages".

    Example:

    >>> model = Saccader(num_classes=10, image_size=60, variant="bagnet29_small", input_channels=1)
    >>> out = model(keras.ops.zeros((2, 60, 60, 1)))
    >>> out["cells"].shape, out["glimpse_boxes"].shape
    (TensorShape([2, 6]), TensorShape([2, 6, 4]))

    Reference:
        Elsayed, Kornblith & Le, "Saccader: Improving Accuracy of Hard Attention Models for
        Vision", NeurIPS 2019 (arXiv 1908.07644).
    """

    def __init__(
        self,
        num_classes,
        image_size,
        variant="bagnet77_lowd",
        input_channels=3,
        num_glimpses=6,
        policy="learned",
        attention_widths=None,
        mixing_width=None,
        attention=None,
        bagnet_attention=None,
        bagnet_kwargs=None,
        seed=None,
        readout="hard",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.representation = BagNet(
            num_classes=num_classes,
            variant=variant,
            input_channels=input_channels,
            image_size=image_size,
            attention=bagnet_attention,
            dtype=self.dtype_policy,
            name="representation",
            **dict(bagnet_kwargs or {}),
        )
        self.grid = self.representation.grid_size(image_size)
        self.check_cell_count("num_glimpses", num_glimpses)
        widths = self._build_location_network(
            attention_widths, mixing_width, attention, policy, seed, readout
        )
        self.readout = readout
        self.num_classes = num_classes
        self.image_size = image_size
        self.variant = variant
        self.input_channels = input_channels
        self.num_glimpses = num_glimpses
        self.policy_name = policy
        self.attention_widths = tuple(widths)
        self.mixing_width = mixing_width
        self.attention = attention
        self.bagnet_attention = bagnet_attention
        self.bagnet_kwargs = dict(bagnet_kwargs or {})
        self.seed = seed

    def _build_location_network(
        self, attention_widths, mixing_width, attention, policy, seed, readout
    ):
        """Creates the attention network, the mixer, the cell, the policy and the readout on top
        of `self.representation`; returns the attention network's four widths."""
        widths = attention_widths or AttentionNetwork.attention_widths(
            self.representation.feature_width
        )
        self.attention_network = AttentionNetwork(
            widths=tuple(widths),
            attention=attention,
            dtype=self.dtype_policy,
            name="attention_network",
        )
        self.mixer = WhatWhereMixer(
            width=mixing_width or self.representation.what_width,
            dtype=self.dtype_policy,
            name="mixer",
        )
        self.cell = SaccaderCell(seed=seed, dtype=self.dtype_policy, name="cell")
        self.policy = make_policy(policy, cell=self.cell, seed=seed)
        self.readout_fn = make_readout(readout)
        return widths

    # ------------------------------------------------------------------ building blocks
    def build(self, input_shape=None):
        rep = self.representation
        h = self.grid
        features = (None, h, h, rep.feature_width)
        self.attention_network.build(features)
        where = self.attention_network.compute_output_shape(features)
        self.mixer.build(where, (None, h, h, rep.what_width))
        self.cell.build((None, h, h, self.mixer.width), (None, self.num_cells))
        self.built = True

    def context(self, images, training=None, frozen_representation=False):
        """Runs everything but the glimpse loop.

        Args:
            images: `[B, S, S, C]`.
            training: BN mode (and ADCM dropout).
            frozen_representation: `True` runs the BagNet in inference mode whatever `training`
                says (its BN statistics stay) and stops the gradient at all its outputs, so only the
                attention network, the mixer and what follows can learn (stage 2).

        Returns:
            `(GlimpseContext, representation outputs dict)` (the dict under `stop_gradient` when
            `frozen_representation`).
        """
        if not self.built:
            self.build(images.shape)
        rep = self.representation(images, training=False if frozen_representation else training)
        if frozen_representation:
            rep = {key: tf.stop_gradient(value) for key, value in rep.items()}
        where = self.attention_network(rep["features"], training=training)
        mixed = self.mixer(where, rep["what_features"], training=training)
        n = self.num_cells
        context = GlimpseContext(
            mixed=tf.reshape(mixed, [-1, n, mixed.shape[-1]]),
            patch_logits=tf.reshape(rep["patch_logits"], [-1, n, self.num_classes]),
            full_logits=rep["logits"],
            grid=(self.grid, self.grid),
            images=images,
            cell_boxes=self.boxes(tf.range(n)),
        )
        return context, rep

    def unroll(self, context, num_glimpses=None, policy=None, training=None):
        """Runs the glimpse loop of `policy` (default: the model's) for `num_glimpses` steps.

        Returns:
            The glimpse part of the output dict (`logits`, `glimpse_logits`, `cells`,
            `location_logits`, `probabilities`, `glimpse_boxes`).
        """
        policy = policy or self.policy
        steps = self.num_glimpses if num_glimpses is None else num_glimpses
        if not policy.uses_glimpses:
            return self._no_glimpses(context)
        self.check_cell_count("num_glimpses", steps)
        # Training with the learned policy: the loop only chooses the cells; the differentiable
        # logits of all steps are then computed at once from them (the same function of M and of
        # the visited masks, faster to differentiate: SaccaderCell.masked_location_logits).
        recompute = getattr(policy, "location_logits_of", None) if training else None
        loop_context = context
        if recompute is not None:
            loop_context = dataclasses.replace(context, mixed=tf.stop_gradient(context.mixed))
        visited = tf.zeros_like(context.mixed[:, :, 0], dtype=tf.float32)
        logits_steps, cells = [], []
        for _ in range(steps):
            logits, cell, visited = policy.step(loop_context, visited, training)
            logits_steps.append(logits)
            cells.append(cell)
        cells = tf.stack(cells, axis=1)
        if recompute is not None:
            location_logits = recompute(context, cells)
        else:
            location_logits = tf.stack(logits_steps, axis=1)
        probabilities = tf.nn.softmax(location_logits, axis=-1)
        glimpse_logits = self.readout_fn(context.patch_logits, cells, probabilities)
        return {
            "logits": tf.reduce_mean(glimpse_logits, axis=1),
            "glimpse_logits": glimpse_logits,
            "cells": cells,
            "location_logits": location_logits,
            "probabilities": probabilities,
            "glimpse_boxes": self.boxes(cells),
        }

    def teacher_forced_location_logits(self, mixed, targets):
        """Location logits R^t when the visited mask follows `targets` (stage 2, ours).

        Args:
            mixed: mixed features M, `[B, N, D]` (`GlimpseContext.mixed`).
            targets: int `[B, T]` target cells, in order.

        Returns:
            float32 `[B, T, N]`: step t sees the targets `< t` as visited.
        """
        visited = visited_before(targets, self.num_cells)
        return self.cell.masked_location_logits(mixed, visited)

    def boxes(self, cells):
        """Receptive-field boxes `[..., 4]` (int32 pixels, end-exclusive) of cell indices."""
        rep = self.representation
        return cell_boxes(cells, self.grid, rep.stride, rep.receptive_field)

    @property
    def num_cells(self):
        """Number `N = h * w` of grid cells (`h = w = grid`): the cell indices are `[0, N)`."""
        return self.grid * self.grid

    def check_cell_count(self, name, value):
        """Raises `ValueError` unless the count `value` of distinct cells fits the grid
        (`1 <= value <= num_cells`): `num_glimpses`, stage 2's `num_targets`."""
        rep = self.representation
        check_cell_count(
            name, value, self.grid, model=rep.variant or "this BagNet", image_size=rep.image_size
        )

    def call(self, images, training=None, num_glimpses=None):
        context, rep = self.context(images, training=training)
        outputs = self.unroll(context, num_glimpses=num_glimpses, training=training)
        outputs["full_logits"] = tf.cast(rep["logits"], tf.float32)
        outputs["patch_logits"] = rep["patch_logits"]
        return outputs

    def _no_glimpses(self, context):
        batch = tf.shape(context.full_logits)[0]
        n = self.num_cells
        return {
            "logits": tf.cast(context.full_logits, tf.float32),
            "glimpse_logits": tf.zeros([batch, 0, self.num_classes], tf.float32),
            "cells": tf.zeros([batch, 0], tf.int32),
            "location_logits": tf.zeros([batch, 0, n], tf.float32),
            "probabilities": tf.zeros([batch, 0, n], tf.float32),
            "glimpse_boxes": tf.zeros([batch, 0, 4], tf.int32),
        }

    # ------------------------------------------------------------------ variable groups
    @property
    def representation_variables(self):
        """Trainable variables of the BagNet (stage 1)."""
        return self.representation.trainable_variables

    @property
    def location_variables(self):
        """Trainable variables of the attention network, the mixer and the cell (stage 2)."""
        return (
            self.attention_network.trainable_variables
            + self.mixer.trainable_variables
            + self.cell.trainable_variables
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            image_size=self.image_size,
            variant=self.variant,
            input_channels=self.input_channels,
            num_glimpses=self.num_glimpses,
            policy=self.policy_name,
            attention_widths=self.attention_widths,
            mixing_width=self.mixing_width,
            attention=self.attention,
            bagnet_attention=self.bagnet_attention,
            bagnet_kwargs=self.bagnet_kwargs,
            seed=self.seed,
            readout=self.readout,
        )
        return config
