"""saccader_tf: Saccader hard-attention image classification for Keras 3 / TensorFlow."""

from saccader_tf.layers import BagNetBottleneck
from saccader_tf.models import VARIANTS, BagNet

__version__ = "0.1.0"
