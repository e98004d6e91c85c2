"""The registry of Saccader glimpse policies: `POLICIES` (their names) and `make_policy`."""

from saccader_tf.models.saccader.policies.sobel import SobelMeanPolicy, SobelVarPolicy
from saccader_tf.models.saccader.policies.standard import (
    CenterPolicy,
    FullImagePolicy,
    LearnedPolicy,
    OrderedLogitsPolicy,
    RandomPolicy,
)
from saccader_tf.models.saccader.policies.tf1 import CenterTF1Policy, RandomTF1Policy

POLICIES = (
    "learned",
    "random",
    "ordered_logits",
    "center",
    "full",
    "sobel_mean",
    "sobel_var",
    "random_tf1",
    "center_tf1",
)
TABLE_ORDER = (
    "learned",
    "ordered_logits",
    "random",
    "full",
    "center",
    "random_tf1",
    "center_tf1",
    "sobel_mean",
    "sobel_var",
)
"""Every policy, in the order of the rows of `--stage=eval`'s table (its default policies)."""


def make_policy(name, cell=None, seed=None):
    """Builds the policy called `name` (one of `POLICIES`).

    Args:
        name: one of `POLICIES`: `"learned"`, `"random"`, `"ordered_logits"`, `"center"`,
            `"full"`, `"sobel_mean"`, `"sobel_var"`, `"random_tf1"` or `"center_tf1"`.
        cell: the `SaccaderCell`, needed by `"learned"`.
        seed: seed of the `"random"` and `"random_tf1"` policies' samplers.
    """
    if name not in POLICIES:
        raise ValueError(f"`policy` must be one of {POLICIES}. Received: policy={name!r}")
    if name == "learned":
        if cell is None:
            raise ValueError(
                "The learned policy needs the model's SaccaderCell. Received: cell=None"
            )
        return LearnedPolicy(cell)
    if name == "random":
        return RandomPolicy(seed)
    if name == "random_tf1":
        return RandomTF1Policy(seed)
    return {
        "ordered_logits": OrderedLogitsPolicy,
        "center": CenterPolicy,
        "full": FullImagePolicy,
        "sobel_mean": SobelMeanPolicy,
        "sobel_var": SobelVarPolicy,
        "center_tf1": CenterTF1Policy,
    }[name]()
