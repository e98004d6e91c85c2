"""The policy comparison printed after training: the top-1 accuracy of each policy at one T.

It is the cheap sibling of `evaluate_model`: the same pass over the data (`batch_sums`), but only
the last T and only top-1, as `{network: {policy: accuracy}}`, and a small text table of it.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.batch_sums import PER_IMAGE, make_batch_step, run_batches
from saccader_tf.evaluation.checks import check_classnet, check_policies, check_stage1
from saccader_tf.evaluation.paired import PAIRED_LEGEND, format_p_value, paired_with_learned
from saccader_tf.evaluation.per_class import PER_CLASS, per_class_accuracy
from saccader_tf.evaluation.results import CLASSNET, CLASSNET_LEGEND
from saccader_tf.evaluation.stage1_network import FINAL, NETWORK_LEGEND, STAGE1, STAGE1_POLICIES

EVALUATION_POLICIES = ("learned", "ordered_logits", "random", "full")
"""The policies evaluated by default."""
PAIRED = "paired"
"""Key of the paired comparisons with the learned policy in `policy_accuracies`'s result."""


def policy_accuracies(
    model,
    dataset,
    num_glimpses=None,
    policies=EVALUATION_POLICIES,
    seed=0,
    stage1=None,
    stage1_policies=STAGE1_POLICIES,
    classnet=None,
):
    """Top-1 accuracy of each policy with `num_glimpses` glimpses, per network.

    Args:
        model: a trained `Saccader` or `DRAM` (the `"final"` network).
        dataset: batches of `(images, labels)` (extra elements are ignored).
        num_glimpses: T; default the model's.
        policies: policy names the model knows (`saccader_tf.models.POLICIES`, or DRAM's).
        seed: seed of the `random` policy.
        stage1: optional stage-1 network
            (`saccader_tf.evaluation.stage1_network.load_stage1_network`).
        stage1_policies: the policies also measured on `stage1` (not `"learned"`).
        classnet: optional `SaccaderClassNet` whose `saccader` is `model`
            (`saccader_tf.evaluation.evaluate`); `dataset` then holds images at its classifier's
            size.

    Returns:
        `{"examples": n, "final": {policy: accuracy}}` plus `"stage1": {policy: accuracy}` when
        `stage1` is given and `"classnet": {policy: accuracy}` (its Saccader's policy) when
        `classnet` is (accuracies are floats in [0, 1]), `"per_class"`: the per-class record
        at T (`saccader_tf.evaluation.per_class.per_class_accuracy`, classes named by index),
        and, when `"learned"` is among `policies`, `"paired": {network: {policy:
        {"only_learned", "only_this", "p_value"}}}`: every other row paired image by image with
        the learned policy on the final network (`saccader_tf.evaluation.paired`).
    """
    steps = num_glimpses or model.num_glimpses
    check_policies(model, steps, policies)  # too many glimpses still raises in unroll
    stage1_policies = check_stage1(model, stage1, stage1_policies)
    check_classnet(model, classnet)
    step = make_batch_step(
        model,
        policies,
        seed,
        steps,
        fill_value=tf.constant(0.0),
        stage1=stage1,
        stage1_policies=stage1_policies,
        classnet=classnet,
    )
    totals, examples = run_batches(step, dataset, None, None, seed)

    def last_top1(sums):  # glimpse policies sum top-1 per T = 1..steps; `full` has one sum
        return {
            name: float(np.asarray(value["top1"]).reshape(-1)[-1] / examples)
            for name, value in sums.items()
        }

    result = {"examples": examples, FINAL: last_top1({name: totals[name] for name in policies})}
    if stage1_policies:
        result[STAGE1] = last_top1(totals[STAGE1])
    if classnet is not None:
        result[CLASSNET] = last_top1(totals[CLASSNET])
    result[PER_CLASS] = per_class_accuracy(totals, steps)
    paired = paired_with_learned(totals[PER_IMAGE])
    if paired:
        result[PAIRED] = paired
    return result


def format_policy_table(accuracies, num_glimpses):
    """A small text table of `policy_accuracies` output: accuracy and error per policy and network.

    A policy measured on several networks gets its `stage1` row first, then its `final` row, then
    its `classnet` row.

    Args:
        accuracies: the dict `policy_accuracies` returns.
        num_glimpses: T (shown in the `glimpses` column; `full` shows `all`).

    Returns:
        A multi-line string.
    """
    paired = accuracies.get(PAIRED, {})
    lines = [f"{'policy':<16}{'network':<9}{'glimpses':>9}{'accuracy':>10}{'error':>8}"]
    if paired:
        lines[0] += f"{'only_learned':>14}{'only_this':>11}{'p':>8}"
    final, stage1 = accuracies[FINAL], accuracies.get(STAGE1, {})
    classnet = accuracies.get(CLASSNET, {})
    networks = ((STAGE1, stage1), (FINAL, final), (CLASSNET, classnet))
    rows = [
        (name, network, values[name])
        for name in dict.fromkeys([*final, *stage1, *classnet])
        for network, values in networks
        if name in values
    ]
    for name, network, accuracy in rows:
        glimpses = "all" if name == "full" else str(num_glimpses)
        line = f"{name:<16}{network:<9}{glimpses:>9}{100 * accuracy:>9.2f}%"
        line += f"{100 * (1 - accuracy):>7.2f}%"
        if paired:
            line += _paired_cells(paired.get(network, {}).get(name))
        lines.append(line)
    lines.append(f"({accuracies['examples']} test images)")
    lines.append(NETWORK_LEGEND)
    if paired:
        lines.append(PAIRED_LEGEND)
    if classnet:
        lines.append(CLASSNET_LEGEND)
    return "\n".join(lines)


def _paired_cells(comparison):
    """The `only_learned`, `only_this` and `p` cells of one row (`-` for the learned row)."""
    if comparison is None:
        return f"{'-':>14}{'-':>11}{'-':>8}"
    return (
        f"{comparison['only_learned']:>14}{comparison['only_this']:>11}"
        f"{format_p_value(comparison['p_value']):>8}"
    )
