"""The Saccader (docs/design.md, "Saccader cell" and "Glimpse policies").

`saccader.py` (`Saccader`: BagNet features, attention network, mixer and the glimpse loop),
`attention_network.py` (`AttentionNetwork`), `what_where_mixer.py` (`WhatWhereMixer`), `cell.py`
(`SaccaderCell`, `VISITED_PENALTY`), `readouts.py` (`READOUTS`: hard or soft glimpse logits) and
`policies/` (the learned and baseline glimpse policies, `POLICIES`, `make_policy`).
"""

from saccader_tf.models.saccader.attention_network import AttentionNetwork
from saccader_tf.models.saccader.cell import VISITED_PENALTY, SaccaderCell
from saccader_tf.models.saccader.policies.base import GlimpseContext
from saccader_tf.models.saccader.policies.registry import POLICIES, make_policy
from saccader_tf.models.saccader.readouts import READOUTS
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.models.saccader.what_where_mixer import WhatWhereMixer

__all__ = [
    "POLICIES",
    "READOUTS",
    "VISITED_PENALTY",
    "AttentionNetwork",
    "GlimpseContext",
    "Saccader",
    "SaccaderCell",
    "WhatWhereMixer",
    "make_policy",
]
