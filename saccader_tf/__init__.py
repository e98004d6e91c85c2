"""saccader_tf: Saccader hard-attention image classification for Keras 3 / TensorFlow."""

import os

# Before anything below imports TensorFlow: its oneDNN kernels corrupt memory in BagNet training
# steps on some CPUs where TensorFlow 2.21 turns them on by default (BUILD.md, "CPU speed:
# oneDNN"). A value the user set is kept. (Has no effect if TensorFlow was imported first.)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from saccader_tf.layers import (
    ADCM, CBAM, VISITED_PENALTY, AttentionNetwork, BagNetBottleneck, GaussianLocationPolicy, GlimpseNetwork,
    SaccaderCell, WhatWhereMixer,
)
from saccader_tf.models import DRAM, POLICIES, VARIANTS, BagNet, Saccader, make_policy
from saccader_tf.training import DRAMTrainer, LocationPretrainer, PolicyGradientTrainer, RepresentationTrainer

__version__ = "0.1.0"
