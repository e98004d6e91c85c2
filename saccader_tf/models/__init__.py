"""Keras models: the BagNet representation network, the Saccader and the DRAM baseline."""

from saccader_tf.models.bagnet import BagNet
from saccader_tf.models.bagnet_variants import VARIANTS
from saccader_tf.models.dram import DRAM, DRAM_VARIANTS
from saccader_tf.models.policies import POLICIES, GlimpseContext, make_policy
from saccader_tf.models.saccader import Saccader
from saccader_tf.models.saccader_classnet import SaccaderClassNet
