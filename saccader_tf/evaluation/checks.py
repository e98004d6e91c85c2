"""Argument checks of `evaluate_model` and `policy_accuracies`: one-line errors before any pass."""

from saccader_tf.evaluation.batch_sums import glimpse_policy
from saccader_tf.evaluation.stage1_network import check_stage1_network
from saccader_tf.models.saccader.policies.registry import make_policy
from saccader_tf.utils.validation import check_int


def check_policies(model, max_glimpses, policies):
    """Validates the policy names and `max_glimpses`; returns T, capped at `model.num_cells`."""
    check_int("max_glimpses", max_glimpses)
    for name in policies:
        glimpse_policy(model, name)  # raises ValueError for a name the model does not know
    return min(max_glimpses, model.num_cells)


def check_classnet(model, classnet, has_boxes=False):
    """A ClassNet to evaluate must wrap `model` and use a glimpse policy.

    Args:
        model: the evaluated Saccader.
        classnet: `None` (nothing to check) or a `SaccaderClassNet`.
        has_boxes: whether the evaluation has object boxes (they are in the Saccader's pixels).
    """
    if classnet is None:
        return
    if classnet.saccader is not model:
        raise ValueError(
            "`classnet` must wrap the evaluated Saccader: pass "
            "`model=classnet.saccader`. Received: another Saccader"
        )
    if not model.policy.uses_glimpses:
        raise ValueError(
            "A ClassNet classifies glimpses: its Saccader needs a glimpse policy. "
            f"Received: policy={model.policy_name!r}"
        )
    if has_boxes and classnet.classifier_image_size != model.image_size:
        raise ValueError(
            "Object boxes (`source.eval_boxes`) are in the Saccader's pixels, but the "
            "images are at the classifier's size: evaluate without boxes, or with "
            "classifier_image_size == the Saccader's image_size. Received: "
            f"classifier_image_size={classnet.classifier_image_size}, "
            f"image_size={model.image_size}"
        )


def check_stage1(model, stage1, stage1_policies):
    """The policies to measure on `stage1` (`()` without it), validated."""
    if stage1 is None:
        return ()
    for name in stage1_policies:
        make_policy(name, cell=stage1.cell)  # raises ValueError for an unknown name
    check_stage1_network(model, stage1, stage1_policies)
    return tuple(stage1_policies)


def check_occlusion(judge, occlusion_steps):
    """The occlusion check blanks cells for a BagNet: `judge` (the stage-1 network or the
    evaluated model) must have one (`representation`); DRAM has none."""
    if occlusion_steps and not hasattr(judge, "representation"):
        raise ValueError(
            "The occlusion check needs a model with a BagNet (`representation`): pass "
            f"occlusion_glimpses=(). Received: a {type(judge).__name__}"
        )
