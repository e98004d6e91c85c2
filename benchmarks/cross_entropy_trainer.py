"""Cross-entropy training of a plain classifier (the race's `PlainCNN`) on the trainer base."""

import tensorflow as tf

from saccader_tf.training.stage_trainer import StageTrainer


class CrossEntropyTrainer(StageTrainer):
    """Trains every weight of a model that maps images `[B, S, S, C]` to logits `[B, K]`.

        loss = mean_b CE(softmax(logits_b), y_b) + λ · Σ ||w||² / 2

    with the weight decay, the global-batch reduction and the label check of `StageTrainer` (the
    same as the Saccader's stage trainers), so the race trains every contender the same way.

    Logs: `loss`, `cross_entropy`, `accuracy`.

    Args:
        model: a Keras model with a `num_classes` attribute, returning logits (e.g. `PlainCNN`);
            held as `self.trained_model`, the attribute `StageTrainer` uses.
        weight_decay: L2 coefficient λ.
    """

    def __init__(self, model, weight_decay=0.0, **kwargs):
        super().__init__(model, weight_decay=weight_decay, **kwargs)
        self.make_trackers(["loss", "cross_entropy", "accuracy"])

    def trained_variables(self):
        return self.trained_model.trainable_variables

    def compute_losses(self, images, labels, training):
        logits = self.trained_model(images, training=training)
        per_example = _cross_entropy(labels, logits)
        logs = {"cross_entropy": tf.reduce_mean(per_example), "accuracy": _accuracy(labels, logits)}
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        logits = self.trained_model(images, training=False)
        cross_entropy = tf.reduce_mean(_cross_entropy(labels, logits))
        return {
            "loss": cross_entropy,
            "cross_entropy": cross_entropy,
            "accuracy": _accuracy(labels, logits),
        }


def _cross_entropy(labels, logits):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)
    )


def _accuracy(labels, logits):
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(predicted == tf.cast(labels, tf.int32), tf.float32))
