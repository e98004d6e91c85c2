"""Stage 3: train the whole Saccader with REINFORCE plus supervised glimpse losses.

See docs/design.md, "Training stages" and "Losses".
"""

import tensorflow as tf

from saccader_tf.training.losses import (
    correct,
    correct_prediction_reward,
    glimpse_cross_entropy,
    global_batch_mean,
    per_location_cross_entropy,
    policy_log_probs,
    reinforce_loss,
)
from saccader_tf.training.rewards import REWARDS
from saccader_tf.training.stage_trainer import StageTrainer

DEFAULT_FULL_IMAGE_LOSS_WEIGHT = 1.0
(
    "Default μ of the full-image term: on (ours; the paper's stage 3 is μ = 0). See the class "
    "docstring."
)


class PolicyGradientTrainer(StageTrainer):
    """Stage 3 trainer: sample T glimpses, reward a correct prediction, train every weight.

    With `l^t ~ Categorical(R^t)` (tfp, in the cell), `ŷ = mean_t Z[l^t]`, reward
    `r = 1[argmax ŷ = y]`, baseline `b = mean over the GLOBAL batch of r` and advantage
    `A = stop_gradient(r − b)`:

        loss = −mean_b Σ_t A_b · log π^t(l^t_b) / T   (REINFORCE, log-probs from tfp)
               + mean_t CE(y^t, y)                      (supervised term on the sampled glimpses)
               + μ · mean_ij CE(Z_ij, y)                (stage 1's loss on every cell; ours)
               + λ · Σ ||w||² / 2

    Without the third term (μ = 0, the paper's recipe) the BagNet learns only through the T sampled
    cells: its per-location logits stay good where the policy looks and decay elsewhere, so its
    full-image logits (`full_logits`, the `full` and `ordered_logits` baselines on this model) get
    worse than after stage 1. μ > 0 keeps the stage-1 per-location cross-entropy on every cell
    (`per_location_cross_entropy`, each cell's Z against the label), so the network stays a
    full-image classifier. With μ = 0 the term is only logged (no gradient): a step is exactly the
    paper's.

    Default μ = 1 (ours), chosen from runs with the same stage-1/2 weights and stage 3 run with
    μ = 0 and μ = 1 (docs/results/full_image_loss.md): with μ = 0 the final BagNet's full-image
    accuracy fell below stage 1's, with μ = 1 it did not, and the learned policy's accuracy was
    not lower. So the default keeps the model's full-image path a classifier without costing the
    glimpses; the extra work is one cross-entropy over the h·w cells' logits, which the forward
    pass computes anyway. μ = 0 reproduces the paper.

    Logs: `loss`, `reinforce`, `glimpse_ce`, `full_image_ce` (the stage-1 loss, logged whatever μ),
    `accuracy` (of ŷ), `reward` (mean r, equal to the accuracy of the sampled glimpses),
    `full_accuracy` (the BagNet's own full-image accuracy).

    Validation (`evaluate_batch`, inference mode: the greedy glimpses the model serves with) logs
    `accuracy`, `full_accuracy`, `glimpse_ce`, `full_image_ce` and `loss = glimpse_ce + μ ·
    full_image_ce`: the supervised terms of the training loss, without the REINFORCE term (a
    surrogate whose value, with the baseline subtracted, says nothing about how good the policy
    is; only its gradient matters) and without the weight decay (as in every stage's validation
    loss). Keras reports it as `val_loss` (docs/design.md, "Training stages").

    Args:
        saccader: the `Saccader` to train (all trainable weights).
        weight_decay: L2 coefficient.
        reinforce_weight: scale of the REINFORCE term (1 in the paper).
        full_image_loss_weight: μ >= 0, the weight of the full-image term (0 = the paper's stage 3).
        reward: `"binary"` (default, r ∈ {0, 1}) or `"punishment"` (reproduction switch, the TF1
            code's r ∈ {−1, 1}: the advantage, hence the REINFORCE term, doubles; the `reward` log
            then is the mean of r ∈ {−1, 1}); see `saccader_tf.training.rewards`.
        **kwargs: `StageTrainer` arguments (`l2`, `location_weight_decay`, `name`, ...).
    """

    reduces_across_replicas = True  # the REINFORCE baseline is a global-batch mean

    def __init__(
        self,
        saccader,
        weight_decay=0.0,
        reinforce_weight=1.0,
        full_image_loss_weight=DEFAULT_FULL_IMAGE_LOSS_WEIGHT,
        reward="binary",
        **kwargs,
    ):
        super().__init__(saccader, weight_decay=weight_decay, **kwargs)
        if not full_image_loss_weight >= 0:
            raise ValueError(
                "`full_image_loss_weight` must be >= 0. "
                f"Received: full_image_loss_weight={full_image_loss_weight}"
            )
        if reward not in REWARDS:
            raise ValueError(
                f"`reward` must be one of {tuple(REWARDS)}. Received: reward={reward!r}"
            )
        self.reinforce_weight = reinforce_weight
        self.full_image_loss_weight = full_image_loss_weight
        self.reward = reward
        self.make_trackers(
            [
                "loss",
                "reinforce",
                "glimpse_ce",
                "full_image_ce",
                "accuracy",
                "reward",
                "full_accuracy",
            ]
        )

    def trained_variables(self):
        return self.trained_model.trainable_variables

    def compute_losses(self, images, labels, training):
        out = self.forward(images, training=training)
        rewards = correct_prediction_reward(out["logits"], labels, self.reward)
        baseline = global_batch_mean(rewards)
        log_probs = policy_log_probs(out["location_logits"], out["cells"])
        reinforce = reinforce_loss(log_probs, rewards, baseline)
        supervised = glimpse_cross_entropy(labels, out["glimpse_logits"])
        per_example = self.reinforce_weight * reinforce + supervised
        patch_logits = out["patch_logits"]
        if not self.full_image_loss_weight:
            patch_logits = tf.stop_gradient(patch_logits)  # logged only: the paper's step
        full_image = per_location_cross_entropy(labels, patch_logits)
        if self.full_image_loss_weight:
            per_example = per_example + self.full_image_loss_weight * full_image
        logs = _metrics(out, labels)
        logs.update(
            reward=tf.reduce_mean(rewards),
            reinforce=tf.reduce_mean(reinforce),
            glimpse_ce=tf.reduce_mean(supervised),
            full_image_ce=tf.reduce_mean(full_image),
        )
        return self.total_loss(per_example, logs), logs

    def evaluate_batch(self, images, labels):
        out = self.trained_model(images, training=False)
        logs = _metrics(out, labels)
        logs["glimpse_ce"] = tf.reduce_mean(glimpse_cross_entropy(labels, out["glimpse_logits"]))
        logs["full_image_ce"] = tf.reduce_mean(
            per_location_cross_entropy(labels, out["patch_logits"])
        )
        logs["loss"] = logs["glimpse_ce"] + self.full_image_loss_weight * logs["full_image_ce"]
        return logs


def _metrics(out, labels):
    return {
        "accuracy": tf.reduce_mean(correct(out["logits"], labels)),
        "full_accuracy": tf.reduce_mean(correct(out["full_logits"], labels)),
    }
