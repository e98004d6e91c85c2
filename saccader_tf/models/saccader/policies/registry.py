"""The registry of Saccader glimpse policies: `POLICIES` (their names) and `make_policy`."""

from saccader_tf.models.saccader.policies import sobel as sobel_policies
from saccader_tf.models.saccader.policies import standard
from saccader_tf.models.saccader.policies import tf1 as tf1_policies

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
        return standard.LearnedPolicy(cell)
    if name == "random":
        return standard.RandomPolicy(seed)
    if name == "random_tf1":
        return tf1_policies.RandomTF1Policy(seed)
    return {
        "ordered_logits": standard.OrderedLogitsPolicy,
        "center": standard.CenterPolicy,
        "full": standard.FullImagePolicy,
        "sobel_mean": sobel_policies.SobelMeanPolicy,
        "sobel_var": sobel_policies.SobelVarPolicy,
        "center_tf1": tf1_policies.CenterTF1Policy,
    }[name]()
