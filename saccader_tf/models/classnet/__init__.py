"""Saccader-ClassNet: a separate classifier of the Saccader's glimpses, cut from the image."""

from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction
