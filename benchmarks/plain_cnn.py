"""A plain full-image CNN: the baseline without attention of the benchmark's `--race`."""

import keras
import tensorflow as tf

from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.models.bagnet.bottleneck import BN_EPSILON, BN_MOMENTUM

DEFAULT_WIDTHS = (32, 64, 96, 128, 192)
DEFAULT_STRIDES = (1, 2, 2, 2, 2)
"""409,770 weights for 10 classes and one channel: within 4% of the default Saccader's 424,154
(`bagnet29_small` at 60 px), so the race compares architectures of about the same size."""


@keras.saving.register_keras_serializable(package="saccader_tf")
class PlainCNN(keras.Model):
    """Full-image classifier: `[Conv3x3 (SAME, no bias) → BatchNorm → ReLU] × n`, global average
    pool, dense logits (BatchNorm as in the BagNet). It sees every pixel and has no glimpses, no
    policy and no per-location logits.

    Args:
        num_classes: number of classes `K`.
        image_size: side `S` of the square input images (used to build the model without data).
        input_channels: channels `C` of the images.
        widths: output channels of the n convolutions.
        strides: the stride of each convolution (same length as `widths`).
        **kwargs: base-model arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `[B, S, S, C]` float images.
        training: `True` uses batch statistics and updates the BatchNorm moving statistics.

    Returns:
        float32 logits `[B, K]` (float32 also under a mixed-precision policy).

    Example:

    >>> model = PlainCNN(num_classes=10, image_size=60, input_channels=1)
    >>> model(keras.ops.zeros((2, 60, 60, 1))).shape
    TensorShape([2, 10])
    """

    def __init__(
        self,
        num_classes,
        image_size,
        input_channels=1,
        widths=DEFAULT_WIDTHS,
        strides=DEFAULT_STRIDES,
        **kwargs,
    ):
        super().__init__(**kwargs)
        widths, strides = tuple(int(w) for w in widths), tuple(int(s) for s in strides)
        if not widths or len(widths) != len(strides) or min(widths + strides) < 1:
            raise ValueError(
                "`widths` and `strides` must be non-empty lists of positive integers "
                f"of the same length. Received: widths={widths}, strides={strides}"
            )
        self.num_classes = num_classes
        self.image_size = image_size
        self.input_channels = input_channels
        self.widths = widths
        self.strides = strides
        self.convs = [
            keras.layers.Conv2D(
                width,
                3,
                strides=stride,
                padding="same",
                use_bias=False,
                dtype=self.dtype_policy,
                name=f"conv{i}",
            )
            for i, (width, stride) in enumerate(zip(widths, strides))
        ]
        self.norms = [
            BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, dtype=self.dtype_policy, name=f"bn{i}"
            )
            for i in range(len(widths))
        ]
        self.classifier = keras.layers.Dense(num_classes, dtype=self.dtype_policy, name="logits")

    def build(self, input_shape=None):
        shape = (None, self.image_size, self.image_size, self.input_channels)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        self.classifier.build((None, self.widths[-1]))
        self.built = True

    def call(self, images, training=False):
        x = images
        for conv, norm in zip(self.convs, self.norms):
            x = tf.nn.relu(norm(conv(x), training=training))
        return tf.cast(self.classifier(tf.reduce_mean(x, axis=(1, 2))), tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            image_size=self.image_size,
            input_channels=self.input_channels,
            widths=list(self.widths),
            strides=list(self.strides),
        )
        return config
