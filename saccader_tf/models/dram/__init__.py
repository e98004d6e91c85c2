"""DRAM, the paper's recurrent baseline (docs/design.md, "DRAM").

`dram.py` (`DRAM`, `DRAM_VARIANTS`), `glimpse_network.py` (`GlimpseNetwork`),
`multi_resolution_glimpse.py` (the retina: glimpse placement and crops, no weights),
`location_policy.py` (`GaussianLocationPolicy`, `gaussian_log_prob`) and `policies.py`
(`DRAM_POLICIES`: the learned policy and the `random`/`center` baselines).
"""

from saccader_tf.models.dram.dram import DRAM, DRAM_VARIANTS
from saccader_tf.models.dram.glimpse_network import GlimpseNetwork
from saccader_tf.models.dram.location_policy import GaussianLocationPolicy, gaussian_log_prob
from saccader_tf.models.dram.policies import DRAM_POLICIES

__all__ = [
    "DRAM",
    "DRAM_POLICIES",
    "DRAM_VARIANTS",
    "GaussianLocationPolicy",
    "GlimpseNetwork",
    "gaussian_log_prob",
]
