"""Stage 3: train the whole Saccader with REINFORCE plus supervised glimpse losses (DESIGN §3.6)."""

import tensorflow as tf

from saccader_tf.training.losses import (
    correct_prediction_reward, glimpse_cross_entropy, global_batch_mean, policy_log_probs, reinforce_loss,
)
from saccader_tf.training.stage_trainer import StageTrainer


class PolicyGradientTrainer(StageTrainer):
    """Stage 3 trainer: sample T glimpses, reward a correct prediction, train every weight.

    With `l^t ~ Categorical(R^t)` (tfp, in the cell), `ŷ = mean_t Z[l^t]`, reward
    `r = 1[argmax ŷ = y]`, baseline `b = mean over the GLOBAL batch of r` and advantage
    `A = stop_gradient(r − b)`:

        loss = −mean_b Σ_t A_b · log π^t(l^t_b) / T   (REINFORCE, log-probs from tfp)
               + mean_t CE(y^t, y)                      (supervised term on the sampled glimpses)
               + λ · Σ ||w||² / 2

    Logs: `loss`, `reinforce`, `glimpse_ce`, `accuracy` (of ŷ), `reward` (mean r, equal to the
    accuracy of the sampled glimpses), `full_accuracy` (the BagNet's own full-image accuracy).

    Args:
        saccader: the `Saccader` to train (all trainable weights).
        weight_decay: L2 coefficient.
        reinforce_weight: scale of the REINFORCE term (1 in the paper).
    """

    def __init__(self, saccader, weight_decay=0.0, reinforce_weight=1.0, **kwargs):
        super().__init__(saccader, weight_decay=weight_decay, **kwargs)
        self.reinforce_weight = reinforce_weight
        self.make_trackers(["loss", "reinforce", "glimpse_ce", "accuracy", "reward", "full_accuracy"])

    def trained_variables(self):
        return self.saccader.trainable_variables

    def compute_losses(self, images, labels, training):
        out = self.saccader(images, training=training)
        rewards = correct_prediction_reward(out["logits"], labels)
        baseline = global_batch_mean(rewards)
        log_probs = policy_log_probs(out["location_logits"], out["cells"])
        reinforce = reinforce_loss(log_probs, rewards, baseline)
        supervised = glimpse_cross_entropy(labels, out["glimpse_logits"])
        per_example = self.reinforce_weight * reinforce + supervised
        logs = _metrics(out, labels)
        logs.update(reward=tf.reduce_mean(rewards), reinforce=tf.reduce_mean(reinforce),
                    glimpse_ce=tf.reduce_mean(supervised))
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        out = self.saccader(images, training=False)
        logs = _metrics(out, labels)
        logs["glimpse_ce"] = tf.reduce_mean(glimpse_cross_entropy(labels, out["glimpse_logits"]))
        return logs


def _metrics(out, labels):
    labels = tf.cast(labels, tf.int32)

    def accuracy(logits):
        return tf.reduce_mean(tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == labels, tf.float32))

    return {"accuracy": accuracy(out["logits"]), "full_accuracy": accuracy(out["full_logits"])}
