"""Generic Keras layers and helpers used by several models (docs/design.md, "Layout").

- `CBAM` (`cbam.py`) and `ADCM` (`adcm.py`, CBAM with an attention-guided dropout), built by name
  with `make_attention_module` (`attention_modules.py`: `None`, `"cbam"` or `"adcm"`);
- `BatchNormalization` (`fused_batch_norm.py`): Keras' layer computed by TensorFlow's fused kernel;
- `replica_seed` (`replica_seed.py`): a stateless seed per `tf.distribute` replica.

Model-specific layers live with their model in `saccader_tf.models`.
"""

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.attention_modules import (
    ATTENTION_MODULES,
    make_attention_module,
    validate_attention,
)
from saccader_tf.layers.cbam import CBAM
from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.layers.replica_seed import replica_seed

__all__ = [
    "ADCM",
    "ATTENTION_MODULES",
    "BatchNormalization",
    "CBAM",
    "make_attention_module",
    "replica_seed",
    "validate_attention",
]
