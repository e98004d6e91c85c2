"""Evaluation of a trained Saccader (DESIGN §7): accuracy of each glimpse policy on a dataset.

For every batch the representation and attention networks run once (`Saccader.context`); each
policy then unrolls its glimpse loop (`Saccader.unroll`) once with the largest T, and every smaller
T reads a prefix of it. That is exact: the learned policy in inference mode, `ordered_logits` and
`center` do not depend on T, and a prefix of a uniform draw without replacement (`random`) is itself
a uniform draw.

Given the stage-1 network (`saccader_tf.evaluation.stage1_network`), the `full` and
`ordered_logits` baselines are also measured on it, in the same pass, and the occlusion check is
judged by it; every result row names its network (`"final"` or `"stage1"`).

Given a Saccader-ClassNet (`classnet`), the eval images are at its classifier's size, the Saccader
rows see them as its Saccader does (`SaccaderClassNet.saccader_inputs`), and rows with network
`"classnet"` give the ClassNet's accuracy for its Saccader's policy: the mean of the classifier's
logits over the first T glimpses, cut at the cells of that policy's Saccader rows.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation import occlusion
from saccader_tf.evaluation.results import (  # noqa: F401
    CLASSNET,
    CLASSNET_LEGEND,
    EvaluationResult,
    format_table,
    write_results,
)
from saccader_tf.evaluation.stage1_network import (
    FINAL,
    NETWORK_LEGEND,
    STAGE1,
    STAGE1_POLICIES,
    check_stage1_network,
)
from saccader_tf.models import geometry
from saccader_tf.models.saccader.policies import make_policy
from saccader_tf.utils.validation import check_int

EVALUATION_POLICIES = ("learned", "ordered_logits", "random", "full")


def policy_accuracies(
    saccader,
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
        saccader: a trained `Saccader` (the `"final"` network).
        dataset: batches of `(images, labels)` (extra elements are ignored).
        num_glimpses: T; default the model's.
        policies: names from `saccader_tf.models.POLICIES`, measured on `saccader`.
        seed: seed of the `random` policy.
        stage1: optional stage-1 network
            (`saccader_tf.evaluation.stage1_network.load_stage1_network`).
        stage1_policies: the policies also measured on `stage1` (not `"learned"`).
        classnet: optional `SaccaderClassNet` whose `saccader` is `saccader` (see the module
            docstring); `dataset` then holds images at its classifier's size.

    Returns:
        `{"examples": n, "final": {policy: accuracy}}` plus `"stage1": {policy: accuracy}` when
        `stage1` is given and `"classnet": {policy: accuracy}` (its Saccader's policy) when
        `classnet` is (accuracies are floats in [0, 1]).
    """
    steps = num_glimpses or saccader.num_glimpses
    _check_arguments(saccader, steps, policies)  # names; too many glimpses still raises in unroll
    stage1_policies = _check_stage1(saccader, stage1, stage1_policies)
    _check_classnet(saccader, classnet)
    step = _make_batch_step(
        saccader,
        policies,
        seed,
        steps,
        (),
        tf.constant(0.0),
        has_boxes=False,
        stage1=stage1,
        stage1_policies=stage1_policies,
        classnet=classnet,
    )
    totals, examples = _run_batches(step, dataset, None, None, seed)

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
    return result


def format_policy_table(accuracies, num_glimpses):
    """A small text table of `policy_accuracies` output: accuracy and error per policy and network.

    A policy measured on several networks gets its `stage1` row first, then its `final` row, then
    its `classnet` row.
    """
    lines = [f"{'policy':<16}{'network':<9}{'glimpses':>9}{'accuracy':>10}{'error':>8}"]
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
        lines.append(
            f"{name:<16}{network:<9}{glimpses:>9}{100 * accuracy:>9.2f}%"
            f"{100 * (1 - accuracy):>7.2f}%"
        )
    lines.append(f"({accuracies['examples']} test images)")
    lines.append(NETWORK_LEGEND)
    if classnet:
        lines.append(CLASSNET_LEGEND)
    return "\n".join(lines)


def correct_predictions(logits, labels):
    """Top-1 (argmax, as the model predicts) and top-5 hits.

    Top-5 counts a hit when fewer than 5 classes have strictly larger logits than the label's, so
    it is always true when K <= 5.

    Args:
        logits: float `[B, K]`.
        labels: int `[B]`.

    Returns:
        Two float32 `[B]` tensors of 0/1.
    """
    labels = tf.cast(labels, tf.int32)
    top1 = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels)
    target = tf.gather(logits, labels, axis=1, batch_dims=1)
    rank = tf.reduce_sum(tf.cast(logits > target[:, None], tf.int32), axis=-1)
    return tf.cast(top1, tf.float32), tf.cast(rank < 5, tf.float32)


def mean_of_first_glimpses(glimpse_logits, t):
    """The Saccader's prediction after t glimpses: the mean of the first t glimpses' logits."""
    return tf.reduce_mean(glimpse_logits[:, :t], axis=1)


def _prediction_rule(model):
    """`(glimpse_logits, t) -> logits` of a model: its `logits_after_glimpses` (DRAM: step t's
    logits) or, for the Saccader, `mean_of_first_glimpses`."""
    return getattr(model, "logits_after_glimpses", mean_of_first_glimpses)


def _policy(model, name, seed=None):
    """Policy `name` of `model`: its own `policy_named` (DRAM) or the Saccader policy on its
    cell."""
    if hasattr(model, "policy_named"):
        return model.policy_named(name, seed=seed)
    return make_policy(name, cell=model.cell, seed=seed)


def _glimpse_sums(glimpses, labels, object_boxes, image_size, predict=mean_of_first_glimpses):
    """Per-T sums over the batch of one policy's unroll: top1, top5, coverage, hit_any; hit_first.

    `predict(glimpse_logits, t)` gives the prediction after t glimpses (`_prediction_rule`).
    """
    sums = {"top1": [], "top5": [], "coverage": []}
    boxes = glimpses["glimpse_boxes"]
    for t in range(1, boxes.shape[1] + 1):
        top1, top5 = correct_predictions(predict(glimpses["glimpse_logits"], t), labels)
        sums["top1"].append(tf.reduce_sum(top1))
        sums["top5"].append(tf.reduce_sum(top5))
        sums["coverage"].append(
            tf.reduce_sum(geometry.coverage(boxes[:, :t], image_size, image_size))
        )
    sums = {key: tf.stack(value) for key, value in sums.items()}
    if object_boxes is not None:
        hits = tf.cast(geometry.box_hits(boxes, object_boxes), tf.float32)  # [B, T]
        sums["hit_first"] = tf.reduce_sum(hits[:, 0])
        sums["hit_any"] = tf.reduce_sum(tf.cast(tf.cumsum(hits, axis=1) > 0, tf.float32), axis=0)
    return sums


def _make_batch_step(
    saccader,
    policies,
    seed,
    steps,
    occlusion_steps,
    fill_value,
    has_boxes,
    stage1=None,
    stage1_policies=(),
    classnet=None,
):
    """A `tf.function` `(images, labels, object_boxes, seed) -> dict of per-batch sums`.

    The sums of `saccader`'s policies are under their names, those of `stage1`'s under
    `sums["stage1"][name]`, those of `classnet` under `sums["classnet"][its policy]`, the
    occlusion check (judged by `stage1` when given) under "occlusion". With `classnet` the
    `images` are at its classifier's size.
    """
    objects = {name: _policy(saccader, name, seed=seed) for name in policies}
    stage1_objects = {
        name: make_policy(name, cell=stage1.cell, seed=seed) for name in stage1_policies
    }
    judge = getattr(
        stage1 or saccader, "representation", None
    )  # a DRAM has none (no occlusion check)

    @tf.function(reduce_retracing=True)
    def step(images, labels, object_boxes, seed):
        boxes = object_boxes if has_boxes else None
        classnet_images = images
        if classnet is not None:
            images = classnet.saccader_inputs(images)
        sums, cells = _network_sums(saccader, images, objects, steps, labels, boxes)
        if classnet is not None:
            sums[CLASSNET] = _classnet_sums(
                classnet, classnet_images, images, cells, steps, labels, boxes
            )
        if stage1_objects:
            sums[STAGE1] = _network_sums(stage1, images, stage1_objects, steps, labels, boxes)[0]
        if "learned" in cells and occlusion_steps:
            sums["occlusion"] = _occlusion_sums(
                saccader, judge, images, labels, cells["learned"], occlusion_steps, fill_value, seed
            )
        return sums

    return step


def _network_sums(saccader, images, policies, steps, labels, object_boxes):
    """Per-policy sums of one network on one batch, and the cells each glimpse policy chose."""
    context, _ = saccader.context(images, training=False)
    sums, cells = {}, {}
    for name, policy in policies.items():
        if not policy.uses_glimpses:
            top1, top5 = correct_predictions(tf.cast(context.full_logits, tf.float32), labels)
            sums[name] = {"top1": tf.reduce_sum(top1), "top5": tf.reduce_sum(top5)}
            continue
        glimpses = saccader.unroll(context, steps, policy, training=False)
        sums[name] = _glimpse_sums(
            glimpses, labels, object_boxes, saccader.image_size, _prediction_rule(saccader)
        )
        cells[name] = glimpses["cells"]
    return sums, cells


def _classnet_sums(classnet, images, saccader_images, cells, steps, labels, object_boxes):
    """`{policy: per-T sums}` of the ClassNet for its Saccader's policy on one batch.

    The glimpses are cut at the cells that policy chose for the Saccader rows (the same unroll), or
    from a new unroll when that policy is not among the evaluated ones.
    """
    saccader, name = classnet.saccader, classnet.saccader.policy_name
    chosen = cells.get(name)
    if chosen is None:
        context, _ = saccader.context(saccader_images, training=False)
        chosen = saccader.unroll(context, steps, training=False)["cells"]
    boxes = saccader.boxes(chosen)
    glimpses = {
        "glimpse_logits": classnet.classify_boxes(images, boxes, training=False),
        "glimpse_boxes": boxes,
    }
    return {name: _glimpse_sums(glimpses, labels, object_boxes, saccader.image_size)}


def _occlusion_sums(saccader, judge, images, labels, cells, occlusion_steps, fill_value, seed):
    logits = occlusion.occlusion_logits(
        saccader, images, cells, occlusion_steps, fill_value, seed, judge=judge
    )
    sums = {}
    for kind, per_step in logits.items():
        hits = [correct_predictions(step_logits, labels) for step_logits in per_step]
        sums[f"{kind}_top1"] = tf.stack([tf.reduce_sum(top1) for top1, _ in hits])
        sums[f"{kind}_top5"] = tf.stack([tf.reduce_sum(top5) for _, top5 in hits])
    return sums


def _check_arguments(saccader, max_glimpses, policies):
    check_int("max_glimpses", max_glimpses)
    for name in policies:
        _policy(saccader, name)  # validates the name
    return min(max_glimpses, saccader.num_cells)


def _check_classnet(saccader, classnet, has_boxes=False):
    """A ClassNet to evaluate must wrap `saccader` and use a glimpse policy."""
    if classnet is None:
        return
    if classnet.saccader is not saccader:
        raise ValueError(
            "`classnet` must wrap the evaluated Saccader: pass "
            "`saccader=classnet.saccader`. Received: another Saccader"
        )
    if not saccader.policy.uses_glimpses:
        raise ValueError(
            "A ClassNet classifies glimpses: its Saccader needs a glimpse policy. "
            f"Received: policy={saccader.policy_name!r}"
        )
    if has_boxes and classnet.classifier_image_size != saccader.image_size:
        raise ValueError(
            "Object boxes (`source.eval_boxes`) are in the Saccader's pixels, but the "
            "images are at the classifier's size: evaluate without boxes, or with "
            "classifier_image_size == the Saccader's image_size. Received: "
            f"classifier_image_size={classnet.classifier_image_size}, "
            f"image_size={saccader.image_size}"
        )


def _check_stage1(saccader, stage1, stage1_policies):
    """The policies to measure on `stage1` (`()` without it), validated."""
    if stage1 is None:
        return ()
    for name in stage1_policies:
        make_policy(name, cell=stage1.cell)  # validates the name
    check_stage1_network(saccader, stage1, stage1_policies)
    return tuple(stage1_policies)


def _run_batches(step, dataset, eval_boxes, max_batches, seed):
    """Sums the per-batch results of `step` over `dataset`; returns (sums, examples).

    `eval_boxes`: `None`, or object boxes `[N, 4]` aligned with the dataset's examples.
    """
    totals, examples = None, 0
    boxes = None if eval_boxes is None else np.asarray(eval_boxes, np.int32)
    for index, batch in enumerate(dataset):
        if max_batches is not None and index >= max_batches:
            break
        images, labels = batch[0], tf.cast(batch[1], tf.int32)
        size = int(labels.shape[0])
        if boxes is not None and examples + size > len(boxes):
            raise ValueError(
                f"`eval_boxes` has fewer rows than the eval dataset. Received: "
                f"eval_boxes.shape={boxes.shape}, at least {examples + size} examples"
            )
        object_boxes = (
            np.zeros([size, 4], np.int32) if boxes is None else boxes[examples : examples + size]
        )
        sums = step(images, labels, tf.constant(object_boxes), tf.constant([seed, index], tf.int32))
        sums = tf.nest.map_structure(lambda x: np.asarray(x, np.float64), sums)
        totals = sums if totals is None else tf.nest.map_structure(np.add, totals, sums)
        examples += size
    if examples == 0:
        raise ValueError("The evaluation dataset is empty. Received: dataset with 0 examples")
    return totals, examples


def _full_row(saccader, sums, examples, network):
    """The `full` row; its coverage is that of the union of all N receptive fields."""
    size = saccader.image_size
    cover = geometry.coverage(saccader.boxes(tf.range(saccader.num_cells)[None]), size, size)
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


def _rows(saccader, policies, totals, examples, steps, network=FINAL):
    rows = []
    for name in policies:
        sums = totals[name]
        if name == "full":
            rows.append(_full_row(saccader, sums, examples, network))
            continue
        hits = "hit_first" in sums
        for t in range(steps):
            rows.append(
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
            )
    return tuple(
        {k: (float(v) if isinstance(v, (np.floating, np.ndarray)) else v) for k, v in row.items()}
        for row in rows
    )


def evaluate_model(
    saccader,
    source,
    *,
    max_glimpses=12,
    policies=EVALUATION_POLICIES,
    seed=0,
    max_batches=None,
    occlusion_glimpses=(1, 3, 6),
    fill_value=0.0,
    stage1=None,
    stage1_policies=STAGE1_POLICIES,
    classnet=None,
):
    """Top-1/top-5, coverage, hit rates for T = 1..max_glimpses per policy, and the occlusion check.

    Args:
        saccader: a trained `Saccader` (rows with `network="final"`).
        source: a `DataSource`; its `eval` batches `(images, labels)` are used, and `eval_boxes`
            (aligned with them) when not `None` for the hit rates (every glimpse policy gets them).
        max_glimpses: largest T, capped at the number of grid cells.
        policies: names from `saccader_tf.models.POLICIES`; `full` gives one row.
        seed: seed of the `random` policy and of the occlusion check's random cells.
        max_batches: evaluate at most this many batches (`None`: all).
        occlusion_glimpses: the T of the occlusion check (capped at `max_glimpses`; needs the
            `learned` policy; `()` skips it).
        fill_value: value of blanked pixels, a scalar or `[C]`: the normalised black
            (`occlusion.black_value(source)`; 0 for cluttered MNIST).
        stage1: optional stage-1 network
            (`saccader_tf.evaluation.stage1_network.load_stage1_network`): then `stage1_policies`
            are also measured on it (rows with `network="stage1"`) and it judges the occlusion
            check (otherwise `saccader`'s own BagNet does; the result says which).
        stage1_policies: the policies measured on `stage1` (not `"learned"`).
        classnet: optional `SaccaderClassNet` whose `saccader` is `saccader`: rows with
            `network="classnet"` for its Saccader's policy, T = 1..max_glimpses (module
            docstring); `source.eval` then holds images at its classifier's size.

    Returns:
        An `EvaluationResult` (see `format_table`, `write_results`).
    """
    steps = _check_arguments(saccader, max_glimpses, policies)
    _check_classnet(saccader, classnet, has_boxes=source.eval_boxes is not None)
    occlusion_steps = ()
    if "learned" in policies:
        occlusion_steps = tuple(sorted({min(int(t), steps) for t in occlusion_glimpses}))
    stage1_policies = _check_stage1(saccader, stage1, stage1_policies)
    step = _make_batch_step(
        saccader,
        policies,
        seed,
        steps,
        occlusion_steps,
        tf.constant(fill_value, tf.float32),
        source.eval_boxes is not None,
        stage1=stage1,
        stage1_policies=stage1_policies,
        classnet=classnet,
    )
    totals, examples = _run_batches(step, source.eval, source.eval_boxes, max_batches, seed)
    rows = _rows(saccader, policies, totals, examples, steps)
    if stage1_policies:
        rows += _rows(stage1, stage1_policies, totals[STAGE1], examples, steps, network=STAGE1)
    if classnet is not None:
        rows += _rows(
            saccader, (saccader.policy_name,), totals[CLASSNET], examples, steps, network=CLASSNET
        )
    occlusion_rows = tuple(
        {
            "glimpses": t,
            **{key: float(value[i] / examples) for key, value in totals["occlusion"].items()},
        }
        for i, t in enumerate(occlusion_steps)
    )
    return EvaluationResult(
        examples=examples,
        max_glimpses=steps,
        num_cells=saccader.num_cells,
        rows=rows,
        occlusion=occlusion_rows,
        fill_value=np.asarray(fill_value).tolist(),
        occlusion_network=STAGE1 if stage1 is not None else FINAL,
    )
