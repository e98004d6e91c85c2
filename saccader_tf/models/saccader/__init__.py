"""The Saccader: BagNet features, attention network, what/where mixer, the Saccader cell, its
readouts and glimpse policies."""

from saccader_tf.models.saccader.attention_network import AttentionNetwork
from saccader_tf.models.saccader.cell import VISITED_PENALTY, SaccaderCell
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.models.saccader.what_where_mixer import WhatWhereMixer
