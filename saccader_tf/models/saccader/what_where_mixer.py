"""Mixing of the "where" (attention) and "what" (representation) features into M."""

import keras

from saccader_tf.utils.validation import check_int


@keras.saving.register_keras_serializable(package="saccader_tf")
class WhatWhereMixer(keras.layers.Layer):
    """Mixed features M: a 1x1 convolution (with bias) on the concatenated where/what features.

        M = Conv1x1(concat[G, Q], axis=-1) = concat[G, Q] @ K + b     [B, h, w, width]

    with K of shape `[D_G + D_Q, width]`; no BN, no activation. M is what the `SaccaderCell` reads.

    Args:
        width: positive int, the channel count D of M (512 in the paper).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        where: attention-network features G, `[B, h, w, D_G]`.
        what: representation ("what") features Q, `[B, h, w, D_Q]`, on the same grid.
        training: unused (accepted for a uniform call signature).

    Returns:
        M, `[B, h, w, width]`.

    Example:
        >>> mixer = WhatWhereMixer(width=8)
        >>> mixer(keras.ops.ones((2, 4, 4, 6)), keras.ops.ones((2, 4, 4, 5))).shape
        TensorShape([2, 4, 4, 8])

    Reference:
        Elsayed, Kornblith, Le. "Saccader: Improving Accuracy of Hard Attention Models for Vision".
        NeurIPS 2019, arXiv 1908.07644.
    """

    def __init__(self, width=512, **kwargs):
        super().__init__(**kwargs)
        self.width = check_int("width", width)

    def build(self, where_shape, what_shape):
        where_shape, what_shape = tuple(where_shape), tuple(what_shape)
        if where_shape[-1] is None or what_shape[-1] is None:
            raise ValueError(
                "The channel dimensions of `where` and `what` must be known. "
                f"Received: where_shape={where_shape}, what_shape={what_shape}"
            )
        self.conv = keras.layers.Conv2D(
            self.width, 1, use_bias=True, dtype=self.dtype_policy, name="mix"
        )
        self.conv.build(where_shape[:-1] + (where_shape[-1] + what_shape[-1],))

    def call(self, where, what, training=None):
        del training  # No training-dependent behaviour.
        return self.conv(keras.ops.concatenate([where, what], axis=-1))

    def compute_output_shape(self, where_shape, what_shape):
        return tuple(where_shape[:-1]) + (self.width,)

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width})
        return config
