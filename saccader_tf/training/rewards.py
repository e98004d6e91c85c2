"""Stage-3 reward and its baseline: the correctness reward and a global-batch mean.

Rewards (`REWARDS`): `binary` (default) r ∈ {0, 1}; `punishment` (a reproduction switch: the
official TF1 code's) r ∈ {−1, 1}, i.e. 2·binary − 1. With the batch-mean baseline the advantage of
`punishment` is exactly twice the `binary` one, so it doubles the REINFORCE term and changes
nothing else.

The REINFORCE baseline of Saccader is the mean reward over the batch. Under `tf.distribute` the
batch is split over replicas (and workers), so "the batch" means the GLOBAL batch:
`global_batch_mean` all-reduces the local sum and the local count, so every replica uses the same
baseline, and replicas whose local batch is smaller (the last partial batch) get their proper
weight.
"""

import tensorflow as tf

REWARDS = {"binary": 0.0, "punishment": -1.0}
"""Reward kinds and the reward of a wrong prediction (a right one earns 1)."""


def correct(logits, labels):
    """Whether each prediction is right: `1[argmax_k logits_k == label]` as float32 (1 or 0).

    Ties in `logits` go to the lowest class index (`tf.argmax`). The mean of the result is an
    accuracy; the helper of every stage's accuracy logs and of the reward.

    Args:
        logits: class (or cell) logits `[..., K]`, any float dtype.
        labels: integer labels broadcastable to `logits.shape[:-1]` (e.g. `[B]` for `[B, K]`
            logits, `[B, 1, 1]` for per-location logits `[B, h, w, K]`).

    Returns:
        float32 `logits.shape[:-1]` (broadcast with `labels`), without gradient.
    """
    predictions = tf.argmax(tf.cast(logits, tf.float32), axis=-1, output_type=tf.int64)
    return tf.cast(tf.equal(predictions, tf.cast(labels, tf.int64)), tf.float32)


def correct_prediction_reward(logits, labels, kind="binary"):
    """Reward r = 1 when the prediction is right, else 0 (`binary`) or −1 (`punishment`).

        r_b = 1[argmax_k logits_bk == y_b]                 (binary)
        r_b = 2 · 1[argmax_k logits_bk == y_b] − 1         (punishment)

    Ties in `logits` go to the lowest class index (`tf.argmax`).

    Args:
        logits: final class logits ŷ, `[B, K]`.
        labels: integer class labels y, `[B]`.
        kind: one of `REWARDS` (`"binary"` by default).

    Returns:
        `float32` rewards, `[B]`, with no gradient (argmax is not differentiable).
    """
    if kind not in REWARDS:
        raise ValueError(f"`kind` must be one of {tuple(REWARDS)}. Received: kind={kind!r}")
    rewards = correct(logits, tf.convert_to_tensor(labels))
    wrong = REWARDS[kind]
    if wrong:
        rewards = rewards * (1.0 - wrong) + wrong
    return tf.stop_gradient(rewards)


def global_batch_mean(values):
    """Mean of `values` over the GLOBAL batch (all replicas of all workers).

    In a replica context of a strategy with more than one replica in sync (inside `strategy.run`),
    the local sum and the local element count are all-reduced with SUM and divided, so every replica
    gets the same number: the mean of the concatenation of all replicas' values (not the mean of the
    per-replica means). Elsewhere (no strategy, a one-replica strategy, or cross-replica context,
    where only local values exist) it is the plain `tf.reduce_mean`.

    Args:
        values: a tensor of any shape, usually rewards `[B]` (local batch).

    Returns:
        A `float32` scalar. Gradients flow through it; callers wanting a baseline stop them (as
        `reinforce_loss` does with the advantage).
    """
    values = tf.cast(values, tf.float32)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync <= 1:
        return tf.reduce_mean(values)
    local_sum = tf.reduce_sum(values)
    local_count = tf.cast(tf.size(values), tf.float32)
    total_sum, total_count = context.all_reduce(
        tf.distribute.ReduceOp.SUM, [local_sum, local_count]
    )
    return tf.math.divide_no_nan(total_sum, total_count)
