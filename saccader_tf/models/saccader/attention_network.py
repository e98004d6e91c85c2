"""The Saccader attention ("where") network: four conv + BN + ReLU layers on the BagNet features."""

import keras

from saccader_tf.layers.attention_modules import make_attention_module, validate_attention
from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.utils.validation import check_int, is_int

KERNEL_SIZES = (1, 3, 1, 3)
DILATION_RATES = (1, 2, 1, 2)


@keras.saving.register_keras_serializable(package="saccader_tf")
class AttentionNetwork(keras.layers.Layer):
    """Saccader "where" network: global-context features G from the representation features P.

    With BN = BatchNormalization (momentum 0.9, epsilon 1e-5), SAME padding and no conv bias:

        x1 = ReLU(BN(Conv1x1(P)))                   [B, h, w, widths[0]]
        x2 = ReLU(BN(Conv3x3_dilation2(x1)))        [B, h, w, widths[1]]
        x3 = ReLU(BN(Conv1x1(x2)))                  [B, h, w, widths[2]]
        G  = ReLU(BN(Conv3x3_dilation2(x3)))        [B, h, w, widths[3]]

    SAME padding keeps the h x w grid, so the output cells line up with the representation
    network's cells. With `attention="cbam"` or `"adcm"` the corresponding module
    (`saccader_tf.layers.cbam.CBAM()` or `saccader_tf.layers.adcm.ADCM()`, default arguments) is
    applied to G after the last ReLU; it pools globally, which is allowed here (the attention path
    may see the whole image).

    The paper uses `widths=(1024, 1024, 512, 512)` on 2048-d features; `attention_widths(F)` gives
    the same proportions (F/2, F/2, F/4, F/4) for narrower features.

    The dilated convolutions are Keras `Conv2D` layers on every device (with oneDNN, TensorFlow's
    dilated kernel is also the faster one on CPUs: docs/results/stage_profile.md).

    Args:
        widths: four positive ints, the output channels of the four convolutions.
        attention: `None`, `"cbam"` or `"adcm"`: optional attention module after the last ReLU.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: features P, `[B, h, w, F]`.
        training: Python bool; BN uses batch statistics (and ADCM drops) when `True`.

    Returns:
        G, `[B, h, w, widths[-1]]`.

    Example:
        >>> net = AttentionNetwork(widths=AttentionNetwork.attention_widths(64))
        >>> net(keras.ops.ones((2, 5, 5, 64))).shape
        TensorShape([2, 5, 5, 16])

    Reference:
        Elsayed, Kornblith, Le. "Saccader: Improving Accuracy of Hard Attention Models for Vision".
        NeurIPS 2019, arXiv 1908.07644.
    """

    def __init__(self, widths=(1024, 1024, 512, 512), attention=None, **kwargs):
        super().__init__(**kwargs)
        if (
            not isinstance(widths, (tuple, list))
            or len(widths) != 4
            or not all(is_int(w) for w in widths)
        ):
            raise ValueError(
                f"`widths` must be a sequence of four positive ints. Received: widths={widths!r}"
            )
        validate_attention(attention)
        self.widths = tuple(int(w) for w in widths)
        self.attention = attention

    @staticmethod
    def attention_widths(feature_width):
        """Widths (F/2, F/2, F/4, F/4) for F-channel features, rounded half up, at least 1.

        Args:
            feature_width: positive int F, the channel count of the representation features.

        Returns:
            A tuple of four ints; `(1024, 1024, 512, 512)` for F = 2048.
        """
        feature_width = check_int("feature_width", feature_width)
        half = max(1, (feature_width + 1) // 2)
        quarter = max(1, (feature_width + 2) // 4)
        return (half, half, quarter, quarter)

    def build(self, input_shape):
        shape = tuple(input_shape)
        if shape[-1] is None:
            raise ValueError(
                f"The channel dimension of the input must be known. Received: input_shape={shape}"
            )
        self.convs, self.norms = [], []
        for index, (width, kernel, rate) in enumerate(
            zip(self.widths, KERNEL_SIZES, DILATION_RATES)
        ):
            conv = keras.layers.Conv2D(
                width,
                kernel,
                padding="same",
                dilation_rate=rate,
                use_bias=False,
                dtype=self.dtype_policy,
                name=f"conv{index}",
            )
            norm = BatchNormalization(
                momentum=0.9, epsilon=1e-5, dtype=self.dtype_policy, name=f"bn{index}"
            )
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
            self.convs.append(conv)
            self.norms.append(norm)
        self.attention_module = make_attention_module(
            self.attention, name=self.attention, dtype=self.dtype_policy
        )
        if self.attention_module is not None:
            self.attention_module.build(shape)

    def call(self, inputs, training=None):
        x = inputs
        for conv, norm in zip(self.convs, self.norms):
            x = keras.ops.relu(norm(conv(x), training=training))
        if self.attention_module is not None:
            x = self.attention_module(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.widths[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"widths": list(self.widths), "attention": self.attention})
        return config
