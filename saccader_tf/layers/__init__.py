"""Keras layers: BagNet bottleneck, CBAM, ADCM, attention network, mixer and Saccader cell."""

from saccader_tf.layers.bottleneck import BagNetBottleneck
