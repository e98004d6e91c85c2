"""CBAM: the convolutional block attention module (a channel gate followed by a spatial gate)."""

import keras

from saccader_tf.utils.validation import check_int


def validate_cbam_arguments(reduction, kernel_size):
    """Raises `ValueError` unless `reduction` is an integer >= 1 and `kernel_size` an odd
    integer >= 1."""
    check_int("reduction", reduction)
    if (
        isinstance(kernel_size, bool)
        or not isinstance(kernel_size, int)
        or kernel_size < 1
        or kernel_size % 2 == 0
    ):
        raise ValueError(
            f"`kernel_size` must be an odd integer >= 1. Received: kernel_size={kernel_size!r}"
        )


@keras.saving.register_keras_serializable(package="saccader_tf")
class CBAM(keras.layers.Layer):
    """Convolutional block attention module: channel attention, then spatial attention.

    For a feature map `x` of shape `[B, H, W, C]`:

    - channel gate: `M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))`, shape `[B, 1, 1, C]`, where
      the pools are global over `H, W` and the MLP is shared: `Dense(max(1, C // reduction))` +
      ReLU, then `Dense(C)`; `x' = M_c · x`;
    - spatial gate: `M_s = sigmoid(conv([max_C(x'), mean_C(x')]))`, shape `[B, H, W, 1]`, where the
      two channel-wise maps are concatenated in that order (max first) and `conv` is a
      `kernel_size`x`kernel_size` convolution with one filter and SAME (zero) padding;
    - output: `M_s · x' = M_s · M_c · x`.

    The channel gate comes first and the spatial gate sees its output, as in the paper. Both MLP
    layers and the convolution have biases (the paper does not say; biases are the Keras default).
    Everything is computed in the layer's compute dtype. Note that the pools are global, so every
    output cell depends on the whole input.

    Args:
        reduction: channel reduction ratio `r` of the MLP's hidden layer (`max(1, C // r)` units).
        kernel_size: odd size of the spatial gate's convolution.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, H, W, C]` feature map.
        training: unused (CBAM behaves the same in training and inference).

    Returns:
        The attended feature map, `[B, H, W, C]`. The two weight maps are available from
        `attention_maps(inputs)`: `(channel_weights [B, 1, 1, C], spatial_weights [B, H, W, 1])`.

    Example:

    >>> cbam = CBAM(reduction=4, kernel_size=3)
    >>> cbam(keras.ops.ones((2, 8, 8, 16))).shape
    TensorShape([2, 8, 8, 16])
    >>> channel_weights, spatial_weights = cbam.attention_maps(keras.ops.ones((2, 8, 8, 16)))
    >>> channel_weights.shape, spatial_weights.shape
    (TensorShape([2, 1, 1, 16]), TensorShape([2, 8, 8, 1]))

    Reference:
        Woo, Park, Lee & Kweon, "CBAM: Convolutional Block Attention Module", ECCV 2018.
    """

    def __init__(self, reduction=16, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        validate_cbam_arguments(reduction, kernel_size)
        self.reduction = reduction
        self.kernel_size = kernel_size

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"CBAM needs a known channel dimension. Received: input_shape={input_shape}"
            )
        hidden = max(1, channels // self.reduction)
        self.mlp_hidden = keras.layers.Dense(
            hidden, activation="relu", name="mlp_hidden", dtype=self.dtype_policy
        )
        self.mlp_output = keras.layers.Dense(channels, name="mlp_output", dtype=self.dtype_policy)
        self.spatial_conv = keras.layers.Conv2D(
            1, self.kernel_size, padding="same", name="spatial_conv", dtype=self.dtype_policy
        )
        self.mlp_hidden.build((input_shape[0], channels))
        self.mlp_output.build((input_shape[0], hidden))
        self.spatial_conv.build(tuple(input_shape[:-1]) + (2,))

    def _channel_weights(self, x):
        """`M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))`, shape `[B, 1, 1, C]`."""
        average = keras.ops.mean(x, axis=(1, 2))
        maximum = keras.ops.max(x, axis=(1, 2))
        logits = self.mlp_output(self.mlp_hidden(average)) + self.mlp_output(
            self.mlp_hidden(maximum)
        )
        return keras.ops.sigmoid(logits)[:, None, None, :]

    def _spatial_weights(self, x):
        """`M_s = sigmoid(conv([max_C(x), mean_C(x)]))`, shape `[B, H, W, 1]`."""
        pooled = keras.ops.concatenate(
            [keras.ops.max(x, axis=-1, keepdims=True), keras.ops.mean(x, axis=-1, keepdims=True)],
            axis=-1,
        )
        return keras.ops.sigmoid(self.spatial_conv(pooled))

    def call_with_attention(self, inputs):
        """Runs the module and also returns its weight maps.

        Args:
            inputs: `[B, H, W, C]` feature map.

        Returns:
            `(outputs [B, H, W, C], channel_weights [B, 1, 1, C], spatial_weights [B, H, W, 1])`,
            all in the layer's compute dtype.
        """
        if not self.built:
            self.build(tuple(inputs.shape))
        x = keras.ops.cast(inputs, self.compute_dtype)
        channel_weights = self._channel_weights(x)
        refined = channel_weights * x
        spatial_weights = self._spatial_weights(refined)
        return spatial_weights * refined, channel_weights, spatial_weights

    def attention_maps(self, inputs):
        """The two weight maps in (0, 1).

        Args:
            inputs: `[B, H, W, C]` feature map.

        Returns:
            `(channel_weights [B, 1, 1, C], spatial_weights [B, H, W, 1])` in the compute dtype.
        """
        _, channel_weights, spatial_weights = self.call_with_attention(inputs)
        return channel_weights, spatial_weights

    def call(self, inputs, training=None):
        outputs, _, _ = self.call_with_attention(inputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction, "kernel_size": self.kernel_size})
        return config
