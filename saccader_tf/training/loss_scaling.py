"""Loss scaling of float16 training (`mixed_float16`; see `saccader_tf.models.dtype_policy`).

float16's small range lets small gradients underflow to 0. `StageTrainer.compile` wraps the
optimizer in a `keras.optimizers.LossScaleOptimizer` (`with_loss_scaling`); `train_step`
multiplies the loss by its scale (`optimizer.scale_loss`) and `apply_gradients` divides it out
of the gradients, skips a step whose gradients are not finite and halves the scale (doubling it
again after a run of finite steps). bfloat16 has float32's range and needs no scaling.
"""

import keras


def computes_in_float16(model):
    """Whether any layer of `model` computes in float16 (its gradients then need loss scaling)."""
    layers = [model, *model._flatten_layers()]  # noqa: SLF001 (Keras's own traversal)
    return any(getattr(layer, "compute_dtype", None) == "float16" for layer in layers)


def with_loss_scaling(optimizer, model):
    """`optimizer` in a `keras.optimizers.LossScaleOptimizer` when `model` computes in float16.

    Args:
        optimizer: a Keras optimizer or its name.
        model: the model whose variables the optimizer updates.

    Returns:
        The optimizer itself when no scaling is needed or it already scales.
    """
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) or not computes_in_float16(model):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
