"""Evaluation of a trained model: accuracy of each glimpse policy on a dataset.

For every batch the representation and attention networks run once (`model.context`); each
policy then unrolls its glimpse loop (`model.unroll`) once with the largest T, and every smaller
T reads a prefix of it. That is exact: the learned policy in inference mode, `ordered_logits` and
`center` do not depend on T, and a prefix of a uniform draw without replacement (`random`) is itself
a uniform draw. See docs/design.md, "Data flow".

Given the stage-1 network (`saccader_tf.evaluation.stage1_network`), the `full` and
`ordered_logits` baselines are also measured on it, in the same pass, and the occlusion check is
judged by it; every result row names its network (`"final"` or `"stage1"`).

Every row is also paired image by image with the learned policy on the final network at the same
T (`saccader_tf.evaluation.paired`): the images only one of the two gets right and McNemar's exact
p-value; rows of the stage-1 network are paired on the same images too (one pass).

Given a Saccader-ClassNet (`classnet`), the eval images are at its classifier's size, the Saccader
rows see them as its Saccader does (`SaccaderClassNet.saccader_inputs`), and rows with network
`"classnet"` give the ClassNet's accuracy for its Saccader's policy: the mean of the classifier's
logits over the first T glimpses, cut at the cells of that policy's Saccader rows.

Where things are: `batch_sums` (one pass over the data), `checks` (argument checks),
`result_rows` (the rows), `results` (`EvaluationResult`, `format_table`, `write_results`),
`policy_comparison` (`policy_accuracies`, `format_policy_table`). This module defines
`evaluate_model` and re-exports the names callers use with it.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.data.eval_subsets import capped_batches, spread_eval
from saccader_tf.evaluation.batch_sums import (
    PER_IMAGE,
    correct_predictions,
    make_batch_step,
    run_batches,
)
from saccader_tf.evaluation.checks import (
    check_classnet,
    check_occlusion,
    check_policies,
    check_stage1,
)
from saccader_tf.evaluation.paired import with_paired_columns
from saccader_tf.evaluation.per_class import per_class_accuracy
from saccader_tf.evaluation.policy_comparison import (
    EVALUATION_POLICIES,
    format_policy_table,
    policy_accuracies,
)
from saccader_tf.evaluation.result_rows import occlusion_rows, policy_rows
from saccader_tf.evaluation.results import CLASSNET, EvaluationResult, format_table, write_results
from saccader_tf.evaluation.stage1_network import FINAL, STAGE1, STAGE1_POLICIES

__all__ = [
    "EVALUATION_POLICIES",
    "EvaluationResult",
    "correct_predictions",
    "evaluate_model",
    "format_policy_table",
    "format_table",
    "policy_accuracies",
    "write_results",
]


def evaluate_model(
    model,
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
    progress=False,
    per_class_glimpses=None,
):
    """Top-1/top-5, coverage, hit rates for T = 1..max_glimpses per policy, and the occlusion check.

    Args:
        model: a trained `Saccader` or `DRAM` (rows with `network="final"`).
        source: a `DataSource`; its `eval` batches `(images, labels)` are used, and `eval_boxes`
            (aligned with them) when not `None` for the hit rates (every glimpse policy gets them).
        max_glimpses: largest T, capped at the number of grid cells.
        policies: policy names the model knows (`saccader_tf.models.POLICIES`, or DRAM's);
            `full` gives one row.
        seed: seed of the `random` policy and of the occlusion check's random cells.
        max_batches: evaluate at most this many batches (`None`: all).
        occlusion_glimpses: the T of the occlusion check (capped at `max_glimpses`; needs the
            `learned` policy and a BagNet to judge, so `()` for DRAM; `()` skips it).
        fill_value: value of blanked pixels, a scalar or `[C]`: the normalised black
            (`occlusion.black_value(source)`; 0 for cluttered MNIST).
        stage1: optional stage-1 network
            (`saccader_tf.evaluation.stage1_network.load_stage1_network`): then `stage1_policies`
            are also measured on it (rows with `network="stage1"`) and it judges the occlusion
            check (otherwise `model`'s own BagNet does; the result says which).
        stage1_policies: the policies measured on `stage1` (not `"learned"`).
        classnet: optional `SaccaderClassNet` whose `saccader` is `model`: rows with
            `network="classnet"` for its Saccader's policy, T = 1..max_glimpses (module
            docstring); `source.eval` then holds images at its classifier's size.
        progress: print a progress line over the evaluation batches.
        per_class_glimpses: T of the per-class accuracies (`EvaluationResult.per_class`;
            default and cap: the largest T evaluated).

    Returns:
        An `EvaluationResult` (see `format_table`, `write_results`).
    """
    steps = check_policies(model, max_glimpses, policies)
    check_classnet(model, classnet, has_boxes=source.eval_boxes is not None)
    occlusion_steps = ()
    if "learned" in policies:
        occlusion_steps = tuple(sorted({min(int(t), steps) for t in occlusion_glimpses}))
    check_occlusion(stage1 or model, occlusion_steps)
    stage1_policies = check_stage1(model, stage1, stage1_policies)
    step = make_batch_step(
        model,
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
    dataset, max_batches, count = _evaluation_batches(source, max_batches)
    totals, examples = run_batches(
        step, dataset, source.eval_boxes, max_batches, seed, progress=progress, num_batches=count
    )
    rows = policy_rows(model, policies, totals, examples, steps)
    if stage1_policies:
        rows += policy_rows(stage1, stage1_policies, totals[STAGE1], examples, steps, STAGE1)
    if classnet is not None:
        rows += policy_rows(
            model, (model.policy_name,), totals[CLASSNET], examples, steps, CLASSNET
        )
    rows = with_paired_columns(rows, totals[PER_IMAGE])
    return EvaluationResult(
        examples=examples,
        max_glimpses=steps,
        num_cells=model.num_cells,
        rows=rows,
        occlusion=occlusion_rows(totals.get("occlusion", {}), examples, occlusion_steps),
        fill_value=np.asarray(fill_value).tolist(),
        occlusion_network=STAGE1 if stage1 is not None else FINAL,
        per_class=per_class_accuracy(
            totals, min(per_class_glimpses or steps, steps), source.class_names
        ),
    )


def _evaluation_batches(source, max_batches):
    """`(dataset, max_batches, count)` for `run_batches`: the `max_batches` batches spread over
    the split (`spread_eval`: it knows a source's length and `eval_at`), or, with object boxes
    aligned by position, the whole split and `max_batches` for `run_batches` to spread; `count`:
    the batches it will read (`None`: unknown)."""
    count, total = capped_batches(source, max_batches)
    if count is None and total >= 0:
        count = total
    if source.eval_boxes is not None:
        return source.eval, max_batches, count
    return spread_eval(source, max_batches), None, count
