"""Mixed precision of the models: the `--mixed_precision` choices and float32 classifier heads.

A run in mixed precision builds its model with a Keras mixed dtype policy (`model_dtype`):
variables in float32, maths in float16 or bfloat16. What needs float32's precision or range stays
in float32 whatever the policy: the classifier heads that produce logits (BagNet `patch_logits`
and its mean, DRAM `classifier`; `logits_dtype`), the Saccader cell's outputs, every loss
(`training.losses` casts its inputs) and the location log-probabilities (`policy_log_probs`,
`gaussian_log_prob`). float16 training also needs loss scaling: `training.loss_scaling`.

Mixed precision is for GPUs (float16 tensor cores) and accelerators with bfloat16 units; on a CPU
without such units it makes training steps slower, not faster (docs/results/cpu_kernels.md).
"""

import keras

MIXED_PRECISION = ("none", "mixed_float16", "mixed_bfloat16")


def check_mixed_precision(mixed_precision):
    """Raises a `ValueError` naming the choices unless `mixed_precision` is one of them."""
    if mixed_precision not in MIXED_PRECISION:
        raise ValueError(
            f"`mixed_precision` must be one of {MIXED_PRECISION}. "
            f"Received: mixed_precision={mixed_precision!r}"
        )


def model_dtype(mixed_precision="none"):
    """The `dtype` argument of a model built for `mixed_precision`.

    Args:
        mixed_precision: `"none"` (float32), `"mixed_float16"` or `"mixed_bfloat16"`.

    Returns:
        `None` for `"none"` (the model's default, float32), else the Keras policy name.
    """
    check_mixed_precision(mixed_precision)
    return None if mixed_precision == "none" else mixed_precision


def logits_dtype(dtype):
    """The dtype policy of a layer producing logits in a model built with `dtype`.

    `"float32"` under a mixed policy (float32 variables, lower-precision maths), so the logits,
    softmaxes and losses computed from them keep float32's precision; otherwise `dtype` itself
    (`None` = the global policy, float32 by default).
    """
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    if policy.variable_dtype == "float32" and policy.compute_dtype != "float32":
        return "float32"
    return dtype
