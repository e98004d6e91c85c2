"""The BagNet representation network: its bottleneck block, variants and receptive-field maths."""

from saccader_tf.models.bagnet.bagnet import BagNet, variant_conv_stack
from saccader_tf.models.bagnet.bottleneck import BagNetBottleneck
from saccader_tf.models.bagnet.variants import VARIANTS
