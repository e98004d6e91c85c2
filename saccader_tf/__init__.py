"""saccader_tf: Saccader hard-attention image classification for Keras 3 / TensorFlow.

Importing the package is cheap and changes nothing in the process (no environment variable, no
TensorFlow import): the names below load their module on first use.

    import saccader_tf
    model = saccader_tf.Saccader(num_classes=10, image_size=60, variant="bagnet29_small")
"""

import importlib

__version__ = "0.1.0"

# name -> module that defines it (loaded on first access, PEP 562).
_EXPORTS = {
    "ADCM": "saccader_tf.layers.adcm",
    "CBAM": "saccader_tf.layers.cbam",
    "BagNet": "saccader_tf.models.bagnet.bagnet",
    "BagNetBottleneck": "saccader_tf.models.bagnet.bottleneck",
    "VARIANTS": "saccader_tf.models.bagnet.variants",
    "Saccader": "saccader_tf.models.saccader.saccader",
    "SaccaderCell": "saccader_tf.models.saccader.cell",
    "VISITED_PENALTY": "saccader_tf.models.saccader.cell",
    "AttentionNetwork": "saccader_tf.models.saccader.attention_network",
    "WhatWhereMixer": "saccader_tf.models.saccader.what_where_mixer",
    "POLICIES": "saccader_tf.models.saccader.policies",
    "make_policy": "saccader_tf.models.saccader.policies",
    "SaccaderClassNet": "saccader_tf.models.classnet.classnet",
    "DRAM": "saccader_tf.models.dram.dram",
    "GlimpseNetwork": "saccader_tf.models.dram.glimpse_network",
    "GaussianLocationPolicy": "saccader_tf.models.dram.location_policy",
    "RepresentationTrainer": "saccader_tf.training.representation_trainer",
    "LocationPretrainer": "saccader_tf.training.location_pretrainer",
    "PolicyGradientTrainer": "saccader_tf.training.policy_gradient_trainer",
    "ClassNetTrainer": "saccader_tf.training.classnet_trainer",
    "DRAMTrainer": "saccader_tf.training.dram_trainer",
    "RunSettings": "saccader_tf.run.settings",
    "load": "saccader_tf.inference.predictor",
    "Predictor": "saccader_tf.inference.predictor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'saccader_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
