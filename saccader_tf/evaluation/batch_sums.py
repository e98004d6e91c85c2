"""The per-batch sums of an evaluation pass, and their totals over a dataset.

`make_batch_step` builds one `tf.function` that, for a batch, runs each network's context once,
unrolls each glimpse policy once with the largest T and sums, for every T = 1..steps, the top-1 and
top-5 hits, the coverage and (with object boxes) the hit rates; `run_batches` adds the sums of all
batches. `evaluate_model` and `policy_accuracies` turn the totals into accuracies.

An evaluated model provides `context(images, training)`, `unroll(context, steps, policy,
training)`, `boxes(cells)`, `num_cells` and `image_size` (the Saccader and DRAM both do). Where the
two differ (how a policy is named, how T glimpses make a prediction) `glimpse_policy` and
`prediction_rule` say so in one place.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.data.eval_subsets import spread_indices
from saccader_tf.evaluation import occlusion
from saccader_tf.evaluation.per_class import CLASS_EXAMPLES, per_class_sums
from saccader_tf.evaluation.results import CLASSNET
from saccader_tf.evaluation.stage1_network import FINAL, STAGE1
from saccader_tf.models.geometry import box_hits, coverage
from saccader_tf.models.saccader.policies.registry import make_policy
from saccader_tf.utils.progress_line import ProgressLine

PER_IMAGE = "per_image"
"""Key of the per-image top-1 hits in a step's result and in `run_batches`'s totals:
`{network: {policy: bool [N, T]}}` (`[N, 1]` for `full`), in the dataset's order."""


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
    """The Saccader's prediction after t glimpses: the mean of the first t glimpses' logits.

    Args:
        glimpse_logits: `[B, T, K]`.
        t: 1 <= t <= T.

    Returns:
        `[B, K]`.
    """
    return tf.reduce_mean(glimpse_logits[:, :t], axis=1)


def prediction_rule(model):
    """`(glimpse_logits, t) -> logits` of `model`: its `logits_after_glimpses` when it defines one
    (DRAM: step t's logits), else the Saccader's `mean_of_first_glimpses`."""
    return getattr(model, "logits_after_glimpses", mean_of_first_glimpses)


def glimpse_policy(model, name, seed=None):
    """Policy `name` for `model.unroll`: the model's own `policy_named` when it defines one (DRAM),
    else the Saccader policy of that name on `model.cell` (raises `ValueError` for unknown names).
    """
    if hasattr(model, "policy_named"):
        return model.policy_named(name, seed=seed)
    return make_policy(name, cell=model.cell, seed=seed)


def glimpse_sums(glimpses, labels, object_boxes, image_size, predict=mean_of_first_glimpses):
    """Per-T sums over the batch of one policy's unroll.

    Args:
        glimpses: `unroll` output with `glimpse_logits` `[B, T, K]` and `glimpse_boxes`
            `[B, T, 4]`.
        labels: int `[B]`.
        object_boxes: `None`, or int `[B, 4]` object boxes (for the hit rates).
        image_size: S, the side of the images the boxes are in.
        predict: `(glimpse_logits, t) -> [B, K]`, the prediction after t glimpses
            (`prediction_rule`).

    Returns:
        `{"top1", "top5", "coverage"}` `[T]` each, `class_top1` `[T, K]` (the top-1 hits per
        label, `saccader_tf.evaluation.per_class`), plus `hit_first` (scalar) and `hit_any` `[T]`
        when `object_boxes` is given, and `correct`: bool `[B, T]`, image b's top-1 hit after
        t + 1 glimpses (per image, not a sum: `network_sums` takes it out).
    """
    sums = {"top1": [], "top5": [], "coverage": [], "class_top1": [], "correct": []}
    boxes, classes = glimpses["glimpse_boxes"], glimpses["glimpse_logits"].shape[-1]
    for t in range(1, boxes.shape[1] + 1):
        top1, top5 = correct_predictions(predict(glimpses["glimpse_logits"], t), labels)
        sums["class_top1"].append(per_class_sums(top1, labels, classes))
        sums["correct"].append(top1 > 0)
        sums["top1"].append(tf.reduce_sum(top1))
        sums["top5"].append(tf.reduce_sum(top5))
        sums["coverage"].append(tf.reduce_sum(coverage(boxes[:, :t], image_size, image_size)))
    sums = {key: tf.stack(value) for key, value in sums.items()}
    sums["correct"] = tf.transpose(sums["correct"])
    if object_boxes is not None:
        hits = tf.cast(box_hits(boxes, object_boxes), tf.float32)  # [B, T]
        sums["hit_first"] = tf.reduce_sum(hits[:, 0])
        sums["hit_any"] = tf.reduce_sum(tf.cast(tf.cumsum(hits, axis=1) > 0, tf.float32), axis=0)
    return sums


def network_sums(model, images, policies, steps, labels, object_boxes):
    """Per-policy sums of one network on one batch, and the cells each glimpse policy chose.

    Args:
        model: the network (Saccader or DRAM).
        images: `[B, S, S, C]`.
        policies: `{name: policy object}`; a policy without glimpses (`full`) gets the full-image
            logits' top-1 / top-5 sums only.
        steps: T, the glimpses unrolled.
        labels: int `[B]`.
        object_boxes: `None` or int `[B, 4]`.

    Returns:
        `(sums, cells, correct)`: `{name: sums}`, `{name: int32 [B, T]}` for the glimpse policies
        and `{name: bool [B, T]}` (`[B, 1]` for `full`), each image's top-1 hit.
    """
    context, _ = model.context(images, training=False)
    sums, cells, correct = {}, {}, {}
    for name, policy in policies.items():
        if not policy.uses_glimpses:
            logits = tf.cast(context.full_logits, tf.float32)
            top1, top5 = correct_predictions(logits, labels)
            sums[name] = {
                "top1": tf.reduce_sum(top1),
                "top5": tf.reduce_sum(top5),
                "class_top1": per_class_sums(top1, labels, logits.shape[-1]),
            }
            correct[name] = top1[:, None] > 0
            continue
        glimpses = model.unroll(context, steps, policy, training=False)
        sums[name] = glimpse_sums(
            glimpses, labels, object_boxes, model.image_size, prediction_rule(model)
        )
        correct[name] = sums[name].pop("correct")
        cells[name] = glimpses["cells"]
    return sums, cells, correct


def classnet_sums(classnet, images, saccader_images, cells, steps, labels, object_boxes):
    """`{policy: per-T sums}` of the ClassNet for its Saccader's policy on one batch.

    The glimpses are cut at the cells that policy chose for the Saccader rows (the same unroll), or
    from a new unroll when that policy is not among the evaluated ones.

    Args:
        classnet: the `SaccaderClassNet`.
        images: `[B, S', S', C]` at the classifier's size.
        saccader_images: the same images as its Saccader sees them, `[B, S, S, C]`.
        cells: `{policy: int32 [B, T]}` chosen in the Saccader rows (`network_sums`).
        steps, labels, object_boxes: as for `network_sums`.
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
    sums = glimpse_sums(glimpses, labels, object_boxes, saccader.image_size)
    return {name: sums}


def occlusion_sums(saccader, judge, images, labels, cells, occlusion_steps, fill_value, seed):
    """Top-1 / top-5 sums of the occlusion check (`occlusion.occlusion_logits`) on one batch.

    Returns:
        `{"chosen_top1", "chosen_top5", "random_top1", "random_top5"}`, each `[len(steps)]`.
    """
    logits = occlusion.occlusion_logits(
        saccader, images, cells, occlusion_steps, fill_value, seed, judge=judge
    )
    sums = {}
    for kind, per_step in logits.items():
        hits = [correct_predictions(step_logits, labels) for step_logits in per_step]
        sums[f"{kind}_top1"] = tf.stack([tf.reduce_sum(top1) for top1, _ in hits])
        sums[f"{kind}_top5"] = tf.stack([tf.reduce_sum(top5) for _, top5 in hits])
    return sums


def make_batch_step(
    model,
    policies,
    seed,
    steps,
    occlusion_steps=(),
    fill_value=0.0,
    has_boxes=False,
    stage1=None,
    stage1_policies=(),
    classnet=None,
):
    """A `tf.function` `(images, labels, object_boxes, seed) -> dict of per-batch sums`.

    The sums of `model`'s policies are under their names, those of `stage1`'s under
    `sums["stage1"][name]`, those of `classnet` under `sums["classnet"][its policy]`, the
    occlusion check (judged by `stage1`'s BagNet when given, else `model`'s) under "occlusion",
    and every image's top-1 hits under `sums[PER_IMAGE][network][policy]` (bool `[B, T]`).
    With `classnet` the `images` are at its classifier's size.

    Args:
        model: the evaluated model (`"final"` rows).
        policies: policy names measured on `model`.
        seed: seed of the `random` policies.
        steps: T, the largest number of glimpses.
        occlusion_steps: the T of the occlusion check (`()`: none); needs the `learned` policy.
        fill_value: value of blanked pixels (a float32 scalar or `[C]` tensor).
        has_boxes: whether the batches' object boxes are real (else they are ignored).
        stage1: optional stage-1 network; `stage1_policies` are measured on it.
        stage1_policies: names measured on `stage1`.
        classnet: optional `SaccaderClassNet` wrapping `model`.
    """
    objects = {name: glimpse_policy(model, name, seed=seed) for name in policies}
    stage1_objects = {
        name: make_policy(name, cell=stage1.cell, seed=seed) for name in stage1_policies
    }
    judge = (stage1 or model).representation if occlusion_steps else None

    @tf.function(reduce_retracing=True)
    def step(images, labels, object_boxes, seed):
        boxes = object_boxes if has_boxes else None
        classnet_images = images
        if classnet is not None:
            images = classnet.saccader_inputs(images)
        sums, cells, correct = network_sums(model, images, objects, steps, labels, boxes)
        ones = tf.ones_like(labels, tf.float32)
        sums[CLASS_EXAMPLES] = per_class_sums(ones, labels, model.num_classes)
        per_image = {FINAL: correct}
        if classnet is not None:
            sums[CLASSNET] = classnet_sums(
                classnet, classnet_images, images, cells, steps, labels, boxes
            )
            per_image[CLASSNET] = {name: s.pop("correct") for name, s in sums[CLASSNET].items()}
        if stage1_objects:
            sums[STAGE1], _, per_image[STAGE1] = network_sums(
                stage1, images, stage1_objects, steps, labels, boxes
            )
        sums[PER_IMAGE] = per_image
        if "learned" in cells and occlusion_steps:
            sums["occlusion"] = occlusion_sums(
                model, judge, images, labels, cells["learned"], occlusion_steps, fill_value, seed
            )
        return sums

    return step


def run_batches(step, dataset, eval_boxes, max_batches, seed, progress=False, num_batches=None):
    """Sums the per-batch results of `step` over `dataset`.

    Args:
        step: a `make_batch_step` function.
        dataset: batches `(images, labels, ...)`.
        eval_boxes: `None`, or object boxes `[N, 4]` aligned with the dataset's examples.
        max_batches: this many batches evenly spaced over the dataset
            (`saccader_tf.data.eval_subsets.spread_indices`; `None`: all).
        seed: int; batch i of the dataset gets the stateless seed `[seed, i]`.
        progress: print an `evaluating: i/n batches` line (`saccader_tf.utils.progress_line`).
        num_batches: the `n` of that line when the dataset's length is unknown (`None`: 0).

    Returns:
        `(totals, examples)`: the sums as float64 numpy arrays, and the number of examples. The
        per-image hits (`totals[PER_IMAGE]`, when `step` gives them) are concatenated instead:
        bool `[N, T]` arrays, one bool per image and T.
    """
    totals, examples, per_image, done = None, 0, [], 0
    boxes = None if eval_boxes is None else np.asarray(eval_boxes, np.int32)
    count = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    kept = spread_indices(count, max_batches)
    last = None if kept is None else kept[-1]
    kept = None if kept is None else set(kept)
    line = _progress_line(dataset, max_batches, num_batches) if progress else None
    offset = 0  # of the batch in the dataset's examples, where its boxes start
    for index, batch in enumerate(dataset):
        images, labels = batch[0], tf.cast(batch[1], tf.int32)
        size, offset = int(labels.shape[0]), offset + int(labels.shape[0])
        if kept is not None and index not in kept:
            continue
        object_boxes = _boxes_of(boxes, offset - size, size)
        sums = step(images, labels, tf.constant(object_boxes), tf.constant([seed, index], tf.int32))
        sums = dict(sums)
        if PER_IMAGE in sums:
            per_image.append(tf.nest.map_structure(np.asarray, sums.pop(PER_IMAGE)))
        sums = tf.nest.map_structure(lambda x: np.asarray(x, np.float64), sums)
        totals = sums if totals is None else tf.nest.map_structure(np.add, totals, sums)
        examples, done = examples + size, done + 1
        if line is not None:
            line.show(done, final=done == line.total)
        if index == last:
            break
    if examples == 0:
        raise ValueError("The evaluation dataset is empty. Received: dataset with 0 examples")
    if per_image:
        totals[PER_IMAGE] = tf.nest.map_structure(lambda *parts: np.concatenate(parts), *per_image)
    return totals, examples


def _boxes_of(boxes, start, size):
    """The object boxes of the `size` examples from `start` (zeros when there are none)."""
    if boxes is None:
        return np.zeros([size, 4], np.int32)
    if start + size > len(boxes):
        raise ValueError(
            f"`eval_boxes` has fewer rows than the eval dataset. Received: "
            f"eval_boxes.shape={boxes.shape}, at least {start + size} examples"
        )
    return boxes[start : start + size]


def _progress_line(dataset, max_batches, num_batches=None):
    """A `ProgressLine` over the batches `run_batches` will read (the dataset's own count when
    it states one, else `num_batches`)."""
    count = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    if count < 0 and num_batches is not None:
        count = num_batches
    if max_batches is not None:
        count = max_batches if count < 0 else min(count, max_batches)
    return ProgressLine(count if count >= 0 else 0, "evaluating", unit="batches")
