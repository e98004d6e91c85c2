"""DRAM's one training stage: cross-entropy of the prediction + REINFORCE on the Gaussian policy."""

import tensorflow as tf

from saccader_tf.models.dram.location_policy import gaussian_log_prob
from saccader_tf.training.losses import correct_prediction_reward, global_batch_mean, reinforce_loss
from saccader_tf.training.rewards import REWARDS
from saccader_tf.training.stage_trainer import StageTrainer

DEFAULT_REINFORCE_WEIGHT = 0.1


class DRAMTrainer(StageTrainer):
    """Trains every weight of a `DRAM` with T sampled glimpses.

    With l_t ~ clip(N(μ_t, σ²)) (the model samples in training), the prediction ŷ = logits_T,
    reward `r = 1[argmax ŷ = y]`, baseline `b = mean of r over the GLOBAL batch` (the Saccader's,
    `global_batch_mean`) and `A = stop_gradient(r − b)`:

        loss = CE(ŷ, y)
               − w · mean_b A_b · Σ_t log N(l_t; μ_t, σ²) / T     (w = `reinforce_weight`, 0.1)
               + λ · Σ ||w||² / 2

    The log-probability of each location sums its two coordinates (`gaussian_log_prob`). Per-example
    terms are divided by the global batch and the decay by the replica count (`StageTrainer`), so
    a MirroredStrategy step equals the single-device step of the same global batch.

    Logs: `loss`, `cross_entropy`, `reinforce`, `accuracy` (of ŷ), `reward` (mean r). Validation
    (inference mode: the policy's mean locations) logs `accuracy`, `cross_entropy` and `loss` = the
    cross-entropy (no REINFORCE surrogate, no weight decay; Keras's `val_loss`).

    Args:
        dram: the `DRAM` to train (held as `self.trained_model`).
        weight_decay: L2 coefficient λ.
        reinforce_weight: w.
        reward: `"binary"` (default, r ∈ {0, 1}) or `"punishment"` (r ∈ {−1, 1}; see
            `saccader_tf.training.rewards`).
        **kwargs: `StageTrainer` arguments (`l2`, `location_weight_decay`, `name`, ...).
    """

    reduces_across_replicas = True  # the REINFORCE baseline is a global-batch mean

    def __init__(
        self,
        dram,
        weight_decay=0.0,
        reinforce_weight=DEFAULT_REINFORCE_WEIGHT,
        reward="binary",
        **kwargs,
    ):
        super().__init__(dram, weight_decay=weight_decay, **kwargs)
        if reinforce_weight < 0:
            raise ValueError(
                f"`reinforce_weight` must be >= 0. Received: reinforce_weight={reinforce_weight}"
            )
        if reward not in REWARDS:
            raise ValueError(
                f"`reward` must be one of {tuple(REWARDS)}. Received: reward={reward!r}"
            )
        self.reinforce_weight = reinforce_weight
        self.reward = reward
        self.make_trackers(["loss", "cross_entropy", "reinforce", "accuracy", "reward"])

    def trained_variables(self):
        return self.trained_model.trainable_variables

    def compute_losses(self, images, labels, training):
        out = self.forward(images, training=training)
        rewards = correct_prediction_reward(out["logits"], labels, self.reward)
        correct = correct_prediction_reward(out["logits"], labels)
        log_probs = gaussian_log_prob(
            out["mean_locations"], out["locations"], self.trained_model.stddev
        )
        reinforce = reinforce_loss(log_probs, rewards, global_batch_mean(rewards))
        cross_entropy = _cross_entropy(labels, out["logits"])
        per_example = cross_entropy + self.reinforce_weight * reinforce
        logs = {
            "cross_entropy": tf.reduce_mean(cross_entropy),
            "reinforce": tf.reduce_mean(reinforce),
            "accuracy": tf.reduce_mean(correct),
            "reward": tf.reduce_mean(rewards),
        }
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        out = self.trained_model(images, training=False)
        correct = correct_prediction_reward(out["logits"], labels)
        cross_entropy = tf.reduce_mean(_cross_entropy(labels, out["logits"]))
        # The validation loss is the cross-entropy: no REINFORCE surrogate, no weight decay.
        return {
            "accuracy": tf.reduce_mean(correct),
            "cross_entropy": cross_entropy,
            "loss": cross_entropy,
        }


def _cross_entropy(labels, logits):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)
    )
