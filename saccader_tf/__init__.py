"""saccader_tf: Saccader hard-attention image classification for Keras 3 / TensorFlow."""

from saccader_tf.layers import (
    ADCM, CBAM, VISITED_PENALTY, AttentionNetwork, BagNetBottleneck, GaussianLocationPolicy, GlimpseNetwork,
    SaccaderCell, WhatWhereMixer,
)
from saccader_tf.models import DRAM, POLICIES, VARIANTS, BagNet, Saccader, make_policy
from saccader_tf.training import DRAMTrainer, LocationPretrainer, PolicyGradientTrainer, RepresentationTrainer

__version__ = "0.1.0"
