"""Keras layers: BagNet bottleneck, CBAM, ADCM, attention network, mixer and Saccader cell."""

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.attention_network import AttentionNetwork
from saccader_tf.layers.bottleneck import BagNetBottleneck
from saccader_tf.layers.cbam import CBAM
from saccader_tf.layers.gaussian_location_policy import GaussianLocationPolicy
from saccader_tf.layers.glimpse_extraction import GlimpseExtraction
from saccader_tf.layers.glimpse_network import GlimpseNetwork
from saccader_tf.layers.saccader_cell import VISITED_PENALTY, SaccaderCell
from saccader_tf.layers.what_where_mixer import WhatWhereMixer
