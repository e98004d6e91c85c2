"""Keras models, a folder each (docs/design.md, "Layout" and "Adding a model"):

- `bagnet/`: the BagNet representation network (`BagNet`, `BagNetBottleneck`, `VARIANTS`);
- `saccader/`: the Saccader (`Saccader`, `SaccaderCell`, `AttentionNetwork`, `WhatWhereMixer`) and
  its glimpse policies (`POLICIES`, `make_policy`);
- `classnet/`: Saccader-ClassNet (`SaccaderClassNet`, `GlimpseExtraction`);
- `dram/`: DRAM, the recurrent baseline (`DRAM`, `GlimpseNetwork`, `GaussianLocationPolicy`).

Shared by them: `geometry.py` (cell boxes, coverage, object hits) and `dtype_policy.py` (mixed
precision). Generic layers are in `saccader_tf.layers`.
"""

from saccader_tf.models.bagnet import VARIANTS, BagNet, BagNetBottleneck
from saccader_tf.models.classnet import GlimpseExtraction, SaccaderClassNet
from saccader_tf.models.dram import (
    DRAM,
    DRAM_POLICIES,
    DRAM_VARIANTS,
    GaussianLocationPolicy,
    GlimpseNetwork,
)
from saccader_tf.models.saccader import (
    POLICIES,
    VISITED_PENALTY,
    AttentionNetwork,
    GlimpseContext,
    Saccader,
    SaccaderCell,
    WhatWhereMixer,
    make_policy,
)

__all__ = [
    "DRAM",
    "DRAM_POLICIES",
    "DRAM_VARIANTS",
    "POLICIES",
    "VARIANTS",
    "VISITED_PENALTY",
    "AttentionNetwork",
    "BagNet",
    "BagNetBottleneck",
    "GaussianLocationPolicy",
    "GlimpseContext",
    "GlimpseExtraction",
    "GlimpseNetwork",
    "Saccader",
    "SaccaderCell",
    "SaccaderClassNet",
    "WhatWhereMixer",
    "make_policy",
]
