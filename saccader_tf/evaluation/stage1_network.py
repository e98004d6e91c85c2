"""The stage-1 network: the BagNet as stage 1 trained it, for the baselines that stand for it.

The paper's `full` and `ordered_logits` baselines are the representation network trained as a
full-image classifier. Stage 3 trains that network only through the T sampled glimpses (unless
`full_image_loss_weight > 0`), so after it the BagNet's per-location logits decay where the policy
does not look and its full-image logits become a worse classifier. Evaluation
therefore measures `full` and `ordered_logits` twice, on this stage-1 network and on the final
model, and judges the occlusion check with the stage-1 network (the final one was trained with
the very policy under test). Stage 2 freezes the BagNet, so the stage-1 checkpoint holds it as it
was when stage 2 and 3 started (docs/design.md, "Training stages").

Only models trained in the Saccader's stages have a stage-1 network; the run decides whether to
ask for one (`saccader_tf.run.model_kinds`).
"""

import tensorflow as tf

from saccader_tf.model_dir import files, stage_files

FINAL = "final"
"""Label of rows measured on the model being evaluated (after stage 3: the final model)."""
STAGE1 = "stage1"
"""Label of rows measured on the stage-1 network (`model_dir/stage1/saccader.weights.h5`)."""
NETWORK_LEGEND = "network: stage1 = the BagNet as stage 1 trained it; final = the evaluated model"
"""The line under the evaluation tables that explains the `network` column."""
STAGE1_POLICIES = ("full", "ordered_logits")
"""The baselines measured on the stage-1 network (its attention network and cell are untrained)."""


def load_stage1_network(model, model_dir):
    """A model of `model`'s architecture holding the stage-1 checkpoint of `model_dir`.

    Only its BagNet (`representation`) is meaningful: the attention network, mixer and cell are
    those of a stage-1 checkpoint, i.e. untrained.

    Args:
        model: the trained Saccader (its class and `get_config()` give the architecture).
        model_dir: the run's directory.

    Returns:
        A built model of `model`'s class with the weights of
        `model_dir/stage1/saccader.weights.h5`, or `None` when that file does not exist.
    """
    path = stage_files.stage_weights_path(model_dir, 1)
    if not files.exists(path):
        return None
    network = type(model).from_config(model.get_config())
    size, channels = network.image_size, network.input_channels
    network(tf.zeros([1, size, size, channels], tf.float32), training=False)  # every variable
    network.load_weights(path)
    return network


def check_stage1_network(saccader, stage1, stage1_policies):
    """Raises `ValueError` unless `stage1` can give the baselines `stage1_policies` for `saccader`.

    Args:
        saccader: the evaluated model.
        stage1: its stage-1 network (`load_stage1_network`).
        stage1_policies: policy names to measure on it; `"learned"` is refused (no trained cell).
    """
    for name in stage1_policies:
        if name == "learned":
            raise ValueError(
                "The stage-1 network has no trained policy: measure 'learned' on the final "
                f"model only. Received: stage1_policies={tuple(stage1_policies)!r}"
            )
    if (stage1.grid, stage1.num_classes) != (saccader.grid, saccader.num_classes):
        raise ValueError(
            f"The stage-1 network must have the evaluated model's grid ({saccader.grid}) and "
            f"classes ({saccader.num_classes}). Received: stage1.grid={stage1.grid}, "
            f"stage1.num_classes={stage1.num_classes}"
        )
