"""The rows of an `EvaluationResult`, made from the totals of an evaluation pass.

Every row is a fraction of the evaluated examples: the sums of `batch_sums.run_batches` divided by
their count, as Python floats (the JSON and CSV files hold them as they are).
"""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.stage1_network import FINAL
from saccader_tf.models.geometry import coverage


def full_row(model, sums, examples, network):
    """The `full` row; its coverage is that of the union of all N receptive fields."""
    size = model.image_size
    cover = coverage(model.boxes(tf.range(model.num_cells)[None]), size, size)
    return {
        "policy": "full",
        "network": network,
        "glimpses": None,
        "top1": sums["top1"] / examples,
        "top5": sums["top5"] / examples,
        "coverage": float(cover[0]),
        "hit_first": None,
        "hit_any": None,
    }


def glimpse_rows(name, sums, examples, steps, network):
    """One row per T = 1..steps of glimpse policy `name` (hit rates `None` without boxes)."""
    hits = "hit_first" in sums
    return [
        {
            "policy": name,
            "network": network,
            "glimpses": t + 1,
            "top1": sums["top1"][t] / examples,
            "top5": sums["top5"][t] / examples,
            "coverage": sums["coverage"][t] / examples,
            "hit_first": sums["hit_first"] / examples if hits else None,
            "hit_any": sums["hit_any"][t] / examples if hits else None,
        }
        for t in range(steps)
    ]


def policy_rows(model, policies, totals, examples, steps, network=FINAL):
    """The rows of `policies` measured on `network` (`model` gives the `full` row's coverage).

    Args:
        model: the network whose cells the rows describe.
        policies: policy names, each a key of `totals`.
        totals: `{name: sums}` (`run_batches`).
        examples: number of evaluated examples.
        steps: T, the largest number of glimpses.
        network: the rows' `network` label.

    Returns:
        A tuple of row dicts (the keys of `results.ROW_COLUMNS`), floats or `None`.
    """
    rows = []
    for name in policies:
        if name == "full":
            rows.append(full_row(model, totals[name], examples, network))
        else:
            rows += glimpse_rows(name, totals[name], examples, steps, network)
    return tuple(
        {k: (float(v) if isinstance(v, (np.floating, np.ndarray)) else v) for k, v in row.items()}
        for row in rows
    )


def occlusion_rows(sums, examples, occlusion_steps):
    """One row per T of the occlusion check: `glimpses` and the four accuracies."""
    return tuple(
        {"glimpses": t, **{key: float(value[i] / examples) for key, value in sums.items()}}
        for i, t in enumerate(occlusion_steps)
    )
