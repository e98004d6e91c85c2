"""Generic Keras layers and helpers used by several models: CBAM, ADCM, the attention-module
factory, a fused batch normalisation, a dilated-convolution substitute and per-replica seeds."""

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.cbam import CBAM
from saccader_tf.layers.fused_batch_norm import BatchNormalization
