"""Finding the variables that hold a NaN or an Inf (used before every save of weights, and when a
saved file is loaded back)."""

import tensorflow as tf


def non_finite_variables(variables):
    """Names of the floating-point variables among `variables` that hold a NaN or an Inf.

    One fused reduction per variable, fetched at once: cheap next to a training step, so it can run
    before every save.

    Args:
        variables: Keras or TensorFlow variables of any shapes and dtypes (non-float ones are
            skipped).

    Returns:
        A list of the offending variables' paths (or names, for variables without a path), in the
        order given; empty when every float variable is finite.
    """
    floats = [v for v in variables if tf.as_dtype(v.dtype).is_floating]
    if not floats:
        return []
    finite = tf.stack(
        [tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(v))) for v in floats]
    ).numpy()
    return [getattr(v, "path", None) or v.name for v, ok in zip(floats, finite) if not ok]
