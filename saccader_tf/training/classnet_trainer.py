"""Stage 4: fine-tune a Saccader-ClassNet's classifier on the glimpses of the trained Saccader."""

import tensorflow as tf

from saccader_tf.training.losses import correct
from saccader_tf.training.stage_trainer import StageTrainer


class ClassNetTrainer(StageTrainer):
    """Stage 4 trainer (ours: the official code does not publish this schedule).

    The paper says only that the ClassNet's classifier was "fine-tuned on patches". Here the
    trained Saccader stays frozen in inference mode (`SaccaderClassNet` always runs it with
    `training=False` and stops gradients at the image and the boxes), so it picks the glimpses it
    will pick when serving, and only the classifier learns, from each of its T glimpses on its own:

        L4 = mean_b mean_t CE(softmax(classifier(glimpse_bt)), y_b)
             + λ·Σ||w||²/2 (classifier kernels).

    Each glimpse is classified alone at inference too (the final logits are the mean over T), so
    every glimpse is trained to carry the class; a loss on the mean logits would let some glimpses
    rely on others.

    Logs: `loss`, `glimpse_ce` (L4 without decay), `accuracy` (argmax of the mean logits),
    `glimpse_accuracy` (share of single glimpses classified right), `saccader_accuracy` (the
    Saccader's own prediction from the same glimpses, for comparison).

    Args:
        classnet: a built or buildable `saccader_tf.models.SaccaderClassNet`.
        weight_decay: L2 coefficient λ.
    """

    def __init__(self, classnet, weight_decay=0.0, **kwargs):
        super().__init__(classnet, weight_decay=weight_decay, **kwargs)
        self.make_trackers(
            ["loss", "glimpse_ce", "accuracy", "glimpse_accuracy", "saccader_accuracy"]
        )

    def trained_variables(self):
        return self.trained_model.classifier_variables

    def compute_losses(self, images, labels, training):
        out = self.trained_model(images, training=training)
        per_example, logs = _glimpse_losses(out, labels)
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        per_example, logs = _glimpse_losses(self.trained_model(images, training=False), labels)
        logs["loss"] = tf.reduce_mean(per_example)
        return logs


def _glimpse_losses(out, labels):
    """Per-example mean over T of the glimpse cross-entropies `[B]`, and the metric logs."""
    labels = tf.cast(labels, tf.int32)
    glimpse_logits = tf.cast(out["glimpse_logits"], tf.float32)  # [B, T, K]; float32 loss
    steps = tf.shape(glimpse_logits)[1]
    per_glimpse = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.repeat(labels[:, None], steps, axis=1), logits=glimpse_logits
    )
    per_example = tf.reduce_mean(per_glimpse, axis=1)

    def accuracy(logits, target):
        return tf.reduce_mean(correct(logits, target))

    logs = {
        "glimpse_ce": tf.reduce_mean(per_example),
        "accuracy": accuracy(out["logits"], labels),
        "glimpse_accuracy": accuracy(glimpse_logits, labels[:, None]),
        "saccader_accuracy": accuracy(out["saccader_logits"], labels),
    }
    return per_example, logs
