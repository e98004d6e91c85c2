"""DRAM, the paper's recurrent baseline: glimpse network, Gaussian location policy, variants."""

from saccader_tf.models.dram.dram import DRAM, DRAM_POLICIES, DRAM_VARIANTS
from saccader_tf.models.dram.glimpse_network import GlimpseNetwork
from saccader_tf.models.dram.location_policy import GaussianLocationPolicy
