"""Losses of the three Saccader training stages, as plain TensorFlow functions.

See docs/design.md, "Losses".

Every loss returns a PER-EXAMPLE loss of shape `[B]` (`float32`; inputs are cast to `float32`, so
mixed-precision logits are fine). The train_step reduces it itself, which is what makes the loss
correct under `tf.distribute`:

    loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)

(divide by the GLOBAL batch, once — never also divide by `num_replicas_in_sync`). Scalar terms that
are not per-example (`l2_penalty`) are added once per global step, so inside a replica context the
caller divides them by `num_replicas_in_sync` (`tf.nn.scale_regularization_loss` does exactly
that).

- Stage 1: `per_location_cross_entropy` (+ `l2_penalty`).
- Stage 2: `top_cells_targets` then `location_pretraining_loss` (teacher-forced, ours; see
  docs/design.md, "Training stages").
- Stage 3: `policy_log_probs`, `correct_prediction_reward`, `global_batch_mean` (the baseline),
  `reinforce_loss`, `glimpse_cross_entropy` (+ `l2_penalty`).
- Weight decay of every stage: `weight_decay_penalty` (`l2="standard"`: `l2_penalty`;
  `l2="normalized"`: `normalized_l2_penalty`, the official TF1 code's form).

Reward and baseline live in `saccader_tf.training.rewards` and are re-exported here, as is
`correct` (argmax equals label), which every stage's accuracy logs use.
"""

import numbers

import tensorflow as tf
import tensorflow_probability as tfp

from saccader_tf.training.rewards import correct, correct_prediction_reward, global_batch_mean
from saccader_tf.utils.validation import check_int

__all__ = [
    "per_location_cross_entropy",
    "top_cells_targets",
    "location_pretraining_loss",
    "policy_log_probs",
    "correct",
    "correct_prediction_reward",
    "global_batch_mean",
    "reinforce_loss",
    "glimpse_cross_entropy",
    "l2_penalty",
    "normalized_l2_penalty",
    "weight_decay_penalty",
    "L2_MODES",
    "decayed_variables",
    "DECAYED_VECTOR_NAMES",
]

# Rank-1 variables that ARE decayed, by the last component of their path: a "kernel" of any rank and
# the SaccaderCell's vector `w` (the TF1 code decayed every weight but biases and normalisation).
DECAYED_VECTOR_NAMES = ("kernel", "w")

L2_MODES = ("standard", "normalized")
"""`weight_decay_penalty` forms: `standard` = `λ · Σ_w ||w||² / 2` (default), `normalized` =
`λ · Σ_w mean(w²)` (the official TF1 code's; a reproduction switch)."""


def _check_rank(tensor, rank, name):
    """Raises `ValueError` when `tensor` has a known rank different from `rank`."""
    actual = tensor.shape.rank
    if actual is not None and actual != rank:
        raise ValueError(f"`{name}` must have rank {rank}. Received: {name}.shape={tensor.shape}")


def _sparse_cross_entropy(labels, logits):
    """Per-position `-log softmax(logits)[labels]` in `float32`, labels broadcast to
    logits[..., 0]."""
    logits = tf.cast(logits, tf.float32)
    labels = tf.cast(labels, tf.int32)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _mean_cross_entropy_over_positions(labels, logits, rank, name):
    """Per-example mean over every non-batch position of CE(logits[b, ...], labels[b]).

    Args:
        labels: integer labels `[B]`.
        logits: `[B, ..., K]` of rank `rank` (named `name` in errors).

    Returns:
        float32 `[B]`.
    """
    labels = tf.convert_to_tensor(labels)
    logits = tf.convert_to_tensor(logits)
    _check_rank(labels, 1, "labels")
    _check_rank(logits, rank, name)
    positions = (slice(None),) + (None,) * (rank - 2)
    grid_labels = tf.broadcast_to(labels[positions], tf.shape(logits)[:-1])
    return tf.reduce_mean(_sparse_cross_entropy(grid_labels, logits), axis=list(range(1, rank - 1)))


def per_location_cross_entropy(labels, patch_logits):
    """Stage-1 loss: every patch must classify the image.

        L1_b = (1 / (h·w)) Σ_ij CE(softmax(Z_bij), y_b),   CE(p, y) = −log p_y

    Args:
        labels: integer labels y, `[B]`.
        patch_logits: per-location logits Z, `[B, h, w, K]`.

    Returns:
        Per-example loss, `float32` `[B]`.
    """
    return _mean_cross_entropy_over_positions(labels, patch_logits, 4, "patch_logits")


def top_cells_targets(patch_logits, class_ids, k=12):
    """Stage-2 targets: the `k` cells with the highest Z for a class, in descending order.

        targets_b = argsort_desc(Z_b[:, :, c_b].flatten())[:k],   cell (i, j) ↦ i·w + j

    Ties: equal values keep the lower flat index first (`tf.math.top_k`), so the order is
    deterministic. No gradient (integer output).

    Args:
        patch_logits: per-location logits Z, `[B, h, w, K]`.
        class_ids: integer class c per example, `[B]` (the argmax of the full-image logits).
        k: number of targets, `1 <= k <= h·w` (12 in the paper).

    Returns:
        `int32` flat cell indices, `[B, k]`.

    Raises:
        ValueError: if `k < 1` or `k > h·w` (when the grid size is known).
    """
    patch_logits = tf.convert_to_tensor(patch_logits)
    _check_rank(patch_logits, 4, "patch_logits")
    check_int("k", k)
    height, width = patch_logits.shape[1], patch_logits.shape[2]
    if height is not None and width is not None and k > height * width:
        raise ValueError(
            f"`k` must be at most the number of cells h*w={height * width} of the "
            f"{height}x{width} grid. Received: k={k}"
        )
    class_ids = tf.cast(class_ids, tf.int32)
    class_maps = tf.gather(tf.cast(patch_logits, tf.float32), class_ids, axis=-1, batch_dims=1)
    flat = tf.reshape(class_maps, [tf.shape(class_maps)[0], -1])
    _, indices = tf.math.top_k(flat, k=k, sorted=True)
    return tf.stop_gradient(tf.cast(indices, tf.int32))


def location_pretraining_loss(location_logits, targets):
    """Stage-2 loss on the teacher-forced unrolled cell.

        L2_b = −(1 / T) Σ_t log softmax(R^t_b)[target_bt]

    `R^t` already carries −1e5 on the cells visited before step t (the cell adds it), so the loss
    is finite: targets are distinct, hence never a visited cell.

    Args:
        location_logits: location logits R^t, `[B, T, N]` (N = h·w).
        targets: integer target cells, `[B, T]`.

    Returns:
        Per-example loss, `float32` `[B]`.
    """
    location_logits = tf.convert_to_tensor(location_logits)
    _check_rank(location_logits, 3, "location_logits")
    _check_rank(tf.convert_to_tensor(targets), 2, "targets")
    return tf.reduce_mean(_sparse_cross_entropy(targets, location_logits), axis=1)


def policy_log_probs(location_logits, cells):
    """Log-probability of the chosen cells under the policy π^t = Categorical(logits = R^t).

        log π^t(l^t_b) = log softmax(R^t_b)[l^t_b]

    Args:
        location_logits: location logits R^t, `[B, T, N]`.
        cells: integer chosen cells l^t, `[B, T]`.

    Returns:
        `float32` log-probabilities, `[B, T]`, differentiable w.r.t. `location_logits`.
    """
    location_logits = tf.cast(location_logits, tf.float32)
    _check_rank(location_logits, 3, "location_logits")
    policy = tfp.distributions.Categorical(logits=location_logits)
    return policy.log_prob(tf.cast(cells, tf.int32))


def reinforce_loss(log_probs, rewards, baseline):
    """Stage-3 REINFORCE loss with a baseline.

        A_b = stop_gradient(r_b − baseline),   L_b = −A_b · (1 / T) Σ_t log π^t(l^t_b)

    The mean over b is the train_step's reduction (see the module docstring). Use
    `baseline = global_batch_mean(rewards)` for the paper's baseline.

    Args:
        log_probs: log π^t(l^t), `[B, T]` (from `policy_log_probs`).
        rewards: rewards r, `[B]`.
        baseline: scalar baseline b (no gradient reaches it).

    Returns:
        Per-example loss, `float32` `[B]`.
    """
    log_probs = tf.cast(log_probs, tf.float32)
    rewards = tf.cast(rewards, tf.float32)
    _check_rank(log_probs, 2, "log_probs")
    _check_rank(rewards, 1, "rewards")
    advantage = tf.stop_gradient(rewards - tf.cast(baseline, tf.float32))
    return -advantage * tf.reduce_mean(log_probs, axis=1)


def glimpse_cross_entropy(labels, glimpse_logits):
    """Stage-3 supervised term: each glimpse's logits must classify the image.

        L_b = (1 / T) Σ_t CE(softmax(y^t_b), y_b)

    Args:
        labels: integer labels y, `[B]`.
        glimpse_logits: per-glimpse logits y^t, `[B, T, K]`.

    Returns:
        Per-example loss, `float32` `[B]`.
    """
    return _mean_cross_entropy_over_positions(labels, glimpse_logits, 3, "glimpse_logits")


def _variable_name(variable):
    """Last path component of a Keras 3 (`path`) or `tf.Variable` (`name`) variable, no `:0`."""
    name = getattr(variable, "path", None) or variable.name
    return name.split("/")[-1].split(":")[0]


def decayed_variables(variables):
    """The variables that weight decay applies to.

    Kept: trainable variables of rank >= 2 (conv and dense kernels) and trainable variables whose
    last path component is in `DECAYED_VECTOR_NAMES` (any "kernel", and the SaccaderCell's `w`).
    Excluded: biases, normalisation parameters (BN gamma/beta, moving statistics) and non-trainable
    (frozen) variables.

    Args:
        variables: an iterable of Keras or `tf.Variable`s (e.g. `model.weights`).

    Returns:
        A list of the kept variables, in the input order.
    """
    return [
        v
        for v in variables
        if getattr(v, "trainable", True)
        and (len(v.shape) >= 2 or _variable_name(v) in DECAYED_VECTOR_NAMES)
    ]


def l2_penalty(variables, weight_decay):
    """L2 weight-decay term: weight_decay · Σ_w ||w||² / 2 over `variables`.

    Every given variable is decayed: the caller selects them, normally with `decayed_variables`
    (which drops biases and BN parameters). This is a once-per-global-step scalar, not a per-example
    loss: in a replica context the train_step divides it by `num_replicas_in_sync` (or uses
    `tf.nn.scale_regularization_loss`); this function does not divide.

    Args:
        variables: an iterable of variables or tensors.
        weight_decay: non-negative float (8e-5 in the paper's config).

    Returns:
        A `float32` scalar (0 when `variables` is empty).
    """
    if isinstance(weight_decay, numbers.Real) and weight_decay < 0:
        raise ValueError(f"`weight_decay` must be >= 0. Received: weight_decay={weight_decay}")
    terms = [tf.nn.l2_loss(tf.cast(v, tf.float32)) for v in variables]
    if not terms:
        return tf.constant(0.0, tf.float32)
    return tf.cast(weight_decay, tf.float32) * tf.add_n(terms)


def normalized_l2_penalty(variables, weight_decay):
    """L2 term as the official TF1 code computes it: weight_decay · Σ_w mean(w²) over `variables`.

    Each variable contributes the MEAN of its squared entries (not the sum, and no 1/2), so a
    large kernel weighs as much as a small one. Like `l2_penalty`, a once-per-global-step scalar
    that this function does not divide by the replica count.

    Args:
        variables: an iterable of variables or tensors (normally `decayed_variables(...)`).
        weight_decay: non-negative float.

    Returns:
        A `float32` scalar (0 when `variables` is empty).
    """
    if isinstance(weight_decay, numbers.Real) and weight_decay < 0:
        raise ValueError(f"`weight_decay` must be >= 0. Received: weight_decay={weight_decay}")
    terms = [tf.reduce_mean(tf.square(tf.cast(v, tf.float32))) for v in variables]
    if not terms:
        return tf.constant(0.0, tf.float32)
    return tf.cast(weight_decay, tf.float32) * tf.add_n(terms)


def weight_decay_penalty(
    variables, weight_decay, *, location_variables=(), location_weight_decay=None, l2="standard"
):
    """The weight-decay term of a stage: the decayed kernels among `variables`, with their own
    coefficient for the location network.

        penalty = λ_cls · f(classification-path kernels) + λ_loc · f(location kernels)

    with `f = l2_penalty` (`l2="standard"`: Σ||w||²/2) or `normalized_l2_penalty`
    (`l2="normalized"`: Σ mean(w²), the official TF1 code's form). A variable is on the location
    side when it is one of `location_variables` (the attention network, mixer and cell of a
    Saccader, the location path of DRAM), on the classification side otherwise. With
    `location_weight_decay=None` (default) λ_loc = λ_cls, so `l2="standard"` gives exactly
    `l2_penalty(decayed_variables(variables), weight_decay)`.

    Args:
        variables: the variables a stage trains.
        weight_decay: λ_cls >= 0.
        location_variables: the model's location-network variables (any superset is fine).
        location_weight_decay: λ_loc >= 0, or `None` for λ_cls.
        l2: one of `L2_MODES`.

    Returns:
        A `float32` scalar.
    """
    if l2 not in L2_MODES:
        raise ValueError(f"`l2` must be one of {L2_MODES}. Received: l2={l2!r}")
    if location_weight_decay is None:
        location_weight_decay = weight_decay
    penalty = l2_penalty if l2 == "standard" else normalized_l2_penalty
    decayed = decayed_variables(variables)
    location_ids = {id(v) for v in location_variables}
    location = [v for v in decayed if id(v) in location_ids]
    classification = [v for v in decayed if id(v) not in location_ids]
    if location_weight_decay == weight_decay:  # one sum in the input order: `l2_penalty` exactly
        return penalty(decayed, weight_decay)
    return penalty(classification, weight_decay) + penalty(location, location_weight_decay)
