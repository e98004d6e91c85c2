"""The BagNet representation network (docs/design.md, "BagNet").

`bagnet.py` (`BagNet`, `variant_conv_stack`), `bottleneck.py` (`BagNetBottleneck`), `variants.py`
(`VARIANTS`, the architectures as data) and `receptive_field.py` (receptive field, grid size and
the grid's limits for a VALID convolution stack).
"""

from saccader_tf.models.bagnet.bagnet import BagNet, variant_conv_stack
from saccader_tf.models.bagnet.bottleneck import BagNetBottleneck
from saccader_tf.models.bagnet.variants import VARIANTS

__all__ = ["BagNet", "BagNetBottleneck", "VARIANTS", "variant_conv_stack"]
