"""Keras models, a folder each: `bagnet` (the representation network), `saccader`, `classnet`
(Saccader-ClassNet) and `dram` (the recurrent baseline)."""

from saccader_tf.models.bagnet import VARIANTS, BagNet, BagNetBottleneck
from saccader_tf.models.classnet import GlimpseExtraction, SaccaderClassNet
from saccader_tf.models.dram import DRAM, DRAM_VARIANTS, GaussianLocationPolicy, GlimpseNetwork
from saccader_tf.models.saccader import (
    VISITED_PENALTY,
    AttentionNetwork,
    Saccader,
    SaccaderCell,
    WhatWhereMixer,
)
from saccader_tf.models.saccader.policies import POLICIES, GlimpseContext, make_policy
