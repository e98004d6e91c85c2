"""The shared layer checks (`tests.support.layer_checks.run_layer_checks`) on every public layer and
model of `saccader_tf.layers` and `saccader_tf.models`.

`CASES` holds small constructor arguments and inputs for each public class. The public classes are
found, not listed: every `keras.layers.Layer` subclass exported by the `__init__` of
`saccader_tf.layers`, `saccader_tf.models` or one of their subpackages. A public class without a
case fails `test_every_public_class_has_a_case`, and a layer class defined in a module without
being exported fails `test_every_layer_class_is_exported`, so a new layer cannot skip the checks.
"""

import dataclasses
import importlib
import inspect
import pkgutil

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.cbam import CBAM
from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.bottleneck import BagNetBottleneck
from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction
from saccader_tf.models.classnet.imagenet_inputs import ImagenetInputs
from saccader_tf.models.dram.dram import DRAM
from saccader_tf.models.dram.glimpse_network import GlimpseNetwork
from saccader_tf.models.dram.location_policy import GaussianLocationPolicy
from saccader_tf.models.saccader.attention_network import AttentionNetwork
from saccader_tf.models.saccader.cell import SaccaderCell
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.models.saccader.what_where_mixer import WhatWhereMixer
from tests.support.layer_checks import run_layer_checks

ROOTS = ("saccader_tf.layers", "saccader_tf.models")

TINY_SACCADER = {"num_classes": 3, "image_size": 24, "variant": "bagnet9_tiny", "input_channels": 1}
TINY_DRAM = {"num_classes": 3, "image_size": 24, "variant": "dram_tiny", "input_channels": 1}


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _uniform(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


def _visited(batch, cells, seed=0):
    visited = np.zeros((batch, cells), "float32")
    visited[np.arange(batch), np.random.default_rng(seed).integers(0, cells, batch)] = 1.0
    return visited


def _boxes():
    """Saccader boxes `[2, 3, 4]` (24 px image, 9 px receptive field), one leaving the image."""
    return np.array(
        [
            [[0, 0, 9, 9], [4, 8, 13, 17], [15, 15, 24, 24]],
            [[8, 4, 17, 13], [0, 12, 9, 21], [12, 0, 21, 9]],
        ],
        "int32",
    )


def _classnet_arguments():
    keras.utils.set_random_seed(0)
    saccader = Saccader(**TINY_SACCADER, num_glimpses=2, seed=1)
    saccader.build()
    return {
        "saccader": keras.saving.serialize_keras_object(saccader),
        "classifier": "small_cnn",
        "classifier_image_size": 36,
        "small_cnn_widths": (4, 8),
    }


@dataclasses.dataclass(frozen=True)
class Case:
    """One `run_layer_checks` run: constructor arguments, inputs and options of the checks."""

    name: str
    init: object  # a dict, or a function returning one (arguments that hold built models)
    inputs: object  # a function returning the call's inputs (an array or a tuple of arrays)
    options: dict = dataclasses.field(default_factory=dict)  # keyword arguments of the checks


NO_DTYPES = {"check_dtypes": False}  # the policy calls of a class are checked by its first case

CASES = {
    BatchNormalization: [
        Case("fused", {"momentum": 0.9, "epsilon": 1e-5}, lambda: _normal(2, 4, 4, 3)),
    ],
    CBAM: [Case("reduction2", {"reduction": 2}, lambda: _uniform(2, 6, 6, 8, seed=2))],
    ADCM: [
        Case(
            "element_low",
            {"reduction": 2, "rate": 0.2, "seed": 1},
            lambda: _uniform(2, 6, 6, 8, seed=3),
        ),
        Case(
            "channel_high",
            {"granularity": "channel", "mode": "high", "reduction": 4, "seed": 2},
            lambda: _uniform(2, 6, 6, 8, seed=3),
            NO_DTYPES,
        ),
    ],
    BagNetBottleneck: [
        Case(
            "kernel3_stride2",
            {"filters": 4, "kernel_size": 3, "strides": 2},
            lambda: _normal(2, 7, 7, 8, seed=6),
        ),
        Case(
            "kernel3_stride2_bottom_right",
            {"filters": 4, "kernel_size": 3, "strides": 2, "shortcut_crop": "bottom_right"},
            lambda: _normal(2, 7, 7, 8, seed=6),
            NO_DTYPES,
        ),
        Case(
            "kernel1_identity",
            {"filters": 2, "kernel_size": 1, "strides": 1},
            lambda: _normal(2, 7, 7, 8, seed=6),
            NO_DTYPES,
        ),
        Case(
            "cbam_projection",
            {"filters": 2, "strides": 2, "attention": "cbam", "attention_kwargs": {"reduction": 2}},
            lambda: _normal(2, 7, 7, 8, seed=6),
            NO_DTYPES,
        ),
    ],
    BagNet: [
        Case(
            "tiny",
            {"num_classes": 3, "variant": "bagnet9_tiny", "input_channels": 1},
            lambda: _normal(2, 24, 24, 1, seed=7),
        ),
        Case(
            "tiny_brendel_layout",
            {
                "num_classes": 3,
                "variant": "bagnet9_tiny",
                "input_channels": 1,
                "shortcut_crop": "bottom_right",
                "stem_bn_momentum": 0.999,
            },
            lambda: _normal(2, 24, 24, 1, seed=7),
            NO_DTYPES,
        ),
    ],
    AttentionNetwork: [
        Case("plain", {"widths": (6, 5, 4, 3)}, lambda: _normal(2, 4, 4, 8)),
        Case(
            "cbam",
            {"widths": (6, 5, 4, 32), "attention": "cbam"},
            lambda: _normal(2, 4, 4, 8),
            NO_DTYPES,
        ),
    ],
    WhatWhereMixer: [
        Case("width5", {"width": 5}, lambda: (_normal(2, 3, 3, 4), _normal(2, 3, 3, 6))),
    ],
    SaccaderCell: [
        Case(
            "grid",
            {"seed": 1},
            lambda: (_normal(2, 3, 3, 4), _visited(2, 9)),
            {"output_keys": ["location_logits", "probabilities"]},
        ),
    ],
    Saccader: [
        Case(
            "tiny",
            {**TINY_SACCADER, "seed": 3},
            lambda: _normal(2, 24, 24, 1),
            {"output_keys": ["logits", "full_logits", "location_logits"]},
        ),
        Case(
            "soft_readout",
            {**TINY_SACCADER, "seed": 3, "readout": "soft", "num_glimpses": 2},
            lambda: _normal(2, 24, 24, 1),
            {"output_keys": ["logits", "location_logits"], **NO_DTYPES},
        ),
    ],
    GlimpseExtraction: [
        Case(
            "resized",
            {"image_size": 36, "source_size": 24, "receptive_field": 9, "output_size": 8},
            lambda: (_normal(2, 36, 36, 2), _boxes()),
            {"check_fit": False},  # no weights
        ),
    ],
    ImagenetInputs: [
        Case(
            "resnet50_v2",
            {"application": "resnet50_v2", "mean": (0.485, 0.456, 0.406), "std": (0.2, 0.2, 0.2)},
            lambda: _normal(2, 4, 4, 3),
            {"check_fit": False},  # no weights
        ),
    ],
    SaccaderClassNet: [
        Case(
            "small_cnn",
            _classnet_arguments,
            lambda: _normal(2, 36, 36, 1),
            {"output_keys": ["logits"]},  # the classifier trains; the Saccader only chooses
        ),
    ],
    GlimpseNetwork: [
        Case(
            "small_cnn",
            {"image_size": 24, "glimpse_size": 9, "input_channels": 1, "widths": (4, 6)},
            lambda: (_normal(2, 24, 24, 1), np.array([[-1.0, 0.5], [0.2, 1.0]], "float32")),
        ),
    ],
    GaussianLocationPolicy: [
        Case(
            "seeded",
            {"stddev": 0.1, "seed": 0},
            lambda: _normal(3, 8),
            {"output_keys": ["mean"]},  # the location carries no gradient
        ),
    ],
    DRAM: [
        Case(
            "tiny",
            {**TINY_DRAM, "seed": 1},
            lambda: _normal(2, 24, 24, 1),
            {"call_kwargs": {"num_glimpses": 2}, "output_keys": ["logits", "mean_locations"]},
        ),
    ],
}


def _packages():
    """`saccader_tf.layers`, `saccader_tf.models` and every package below them (imported)."""
    packages = []
    for root in ROOTS:
        package = importlib.import_module(root)
        packages.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=root + "."):
            if info.ispkg:
                packages.append(importlib.import_module(info.name))
    return packages


def _modules():
    """Every module under `ROOTS` (imported)."""
    modules = []
    for root in ROOTS:
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, prefix=root + "."):
            modules.append(importlib.import_module(info.name))
    return modules


def _is_layer_class(value):
    return inspect.isclass(value) and issubclass(value, keras.layers.Layer)


def public_classes():
    """The layer and model classes of saccader_tf exported by the packages under `ROOTS`."""
    found = set()
    for package in _packages():
        for name, value in vars(package).items():
            if not name.startswith("_") and _is_layer_class(value):
                if value.__module__.startswith("saccader_tf."):
                    found.add(value)
    return found


def _case_parameters():
    for cls, cases in CASES.items():
        for case in cases:
            yield {"testcase_name": f"{cls.__name__}_{case.name}", "cls": cls, "case": case}


class PublicLayerChecksTest(tf.test.TestCase, parameterized.TestCase):
    def test_every_public_class_has_a_case(self):
        public = public_classes()
        self.assertNotEmpty(public)
        missing = sorted(c.__name__ for c in public - set(CASES))
        self.assertEqual(missing, [], "add a case to CASES for these public layers/models")
        stale = sorted(c.__name__ for c in set(CASES) - public)
        self.assertEqual(stale, [], "these CASES entries are not exported by any package")

    def test_every_layer_class_is_exported(self):
        public = public_classes()
        hidden = []
        for module in _modules():
            for name, value in vars(module).items():
                defined_here = _is_layer_class(value) and value.__module__ == module.__name__
                if defined_here and not name.startswith("_") and value not in public:
                    hidden.append(f"{module.__name__}.{name}")
        self.assertEqual(hidden, [], "export these from their package's __init__ (and add cases)")

    def test_package_exports_are_listed_and_resolve(self):
        for package in _packages():
            names = getattr(package, "__all__", None)
            if names is None:
                continue
            with self.subTest(package=package.__name__):
                self.assertEqual([n for n in names if not hasattr(package, n)], [])
                exported = [n for n, v in vars(package).items() if _is_layer_class(v)]
                self.assertEqual(sorted(set(exported) - set(names)), [], "add them to __all__")

    @parameterized.named_parameters(*_case_parameters())
    def test_shared_checks(self, cls, case):
        keras.utils.set_random_seed(0)
        init = case.init() if callable(case.init) else case.init
        run_layer_checks(self, cls, init, case.inputs(), **case.options)


if __name__ == "__main__":
    tf.test.main()
