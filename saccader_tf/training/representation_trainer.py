"""Stage 1: train the BagNet representation network alone on full images.

See docs/design.md, "Training stages".
"""

import tensorflow as tf

from saccader_tf.training.losses import correct, per_location_cross_entropy
from saccader_tf.training.stage_trainer import StageTrainer


class RepresentationTrainer(StageTrainer):
    """Stage 1 trainer: every patch must classify the image.

    Loss: `L1 = mean_ij CE(softmax(Z_ij), y) + λ·Σ||w||²/2` over the BagNet only (the attention
    network, mixer and cell are not touched).

    Logs: `loss` (total), `patch_ce` (L1 without weight decay), `accuracy` (image-level: argmax of
    `mean_ij Z_ij`), `patch_accuracy` (share of cells whose own argmax is right).

    Args:
        saccader: the `Saccader` whose `representation` is trained.
        weight_decay: L2 coefficient (the paper's config uses 8e-5).
    """

    def __init__(self, saccader, weight_decay=0.0, **kwargs):
        super().__init__(saccader, weight_decay=weight_decay, **kwargs)
        self.make_trackers(["loss", "patch_ce", "accuracy", "patch_accuracy"])

    def trained_variables(self):
        return self.trained_model.representation_variables

    def compute_losses(self, images, labels, training):
        out = self.trained_model.representation(images, training=training)
        per_example = per_location_cross_entropy(labels, out["patch_logits"])
        logs = _metrics(out, labels)
        logs["patch_ce"] = tf.reduce_mean(per_example)
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        _, logs = self.compute_losses(images, labels, training=False)
        logs["loss"] = logs["patch_ce"]  # the validation loss leaves out the weight decay
        return logs


def _metrics(out, labels):
    return {
        "accuracy": tf.reduce_mean(correct(out["logits"], labels)),
        "patch_accuracy": tf.reduce_mean(correct(out["patch_logits"], labels[:, None, None])),
    }
