"""Stage 2: pretrain the location network towards the BagNet's most confident cells
(docs/design.md, "Training stages")."""

import tensorflow as tf

from saccader_tf.training.losses import correct, location_pretraining_loss, top_cells_targets
from saccader_tf.training.stage_trainer import StageTrainer


class LocationPretrainer(StageTrainer):
    """Stage 2 trainer: the frozen BagNet's top cells teach the attention network where to look.

    Targets: the `num_targets` cells with the highest per-location logits Z of the class predicted
    by the full-image logits, in descending order. The cell is unrolled `num_targets` steps
    teacher-forced (ours): step t sees the targets before t as visited, so the loss is a clean
    `−mean_t log π^t(target_t)`. The representation network runs in inference mode under
    `stop_gradient`: neither its weights nor its BN statistics change. Trains the attention
    network, the mixer and the cell (plus weight decay on their kernels).

    Logs: `loss`, `location_ce`, `target_accuracy` (share of steps whose argmax is the target),
    `first_target_accuracy` (step 1 only).

    Args:
        saccader: the `Saccader` whose location path is trained.
        num_targets: number of target cells (the paper: 12); at most the number of grid cells.
        weight_decay: L2 coefficient.
    """

    def __init__(self, saccader, num_targets=12, weight_decay=0.0, **kwargs):
        super().__init__(saccader, weight_decay=weight_decay, **kwargs)
        saccader.check_cell_count("num_targets", num_targets)
        self.num_targets = num_targets
        self.make_trackers(["loss", "location_ce", "target_accuracy", "first_target_accuracy"])

    def trained_variables(self):
        return self.trained_model.location_variables

    def _forward(self, images, training):
        context, rep = self.trained_model.context(
            images, training=training, frozen_representation=True
        )
        predicted = tf.argmax(rep["logits"], axis=-1, output_type=tf.int32)
        targets = top_cells_targets(rep["patch_logits"], predicted, k=self.num_targets)
        logits = self.trained_model.teacher_forced_location_logits(context.mixed, targets)
        return location_pretraining_loss(logits, targets), logits, targets

    def compute_losses(self, images, labels, training):
        per_example, logits, targets = self._forward(images, training)
        logs = _metrics(logits, targets)
        logs["location_ce"] = tf.reduce_mean(per_example)
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        _, logs = self.compute_losses(images, labels, training=False)
        logs["loss"] = logs["location_ce"]  # the validation loss leaves out the weight decay
        return logs


def _metrics(logits, targets):
    hits = correct(logits, targets)
    return {
        "target_accuracy": tf.reduce_mean(hits),
        "first_target_accuracy": tf.reduce_mean(hits[:, 0]),
    }
