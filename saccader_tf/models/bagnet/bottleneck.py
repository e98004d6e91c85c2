"""The BagNet bottleneck block: a ResNet bottleneck with VALID padding and a cropped shortcut."""

import keras

from saccader_tf.layers.attention_modules import make_attention_module, validate_attention
from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.utils.validation import check_int

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
EXPANSION = 4
SHORTCUT_CROPS = ("center", "bottom_right")
"""Where the shortcut is cut to the residual branch's size: `"center"` crops the input by
`(k - 1) / 2` per side before the projection (the TF1 Saccader code), `"bottom_right"` projects
the whole input and keeps its top-left `H' x W'` cells (Brendel & Bethge's published PyTorch
BagNets)."""


@keras.saving.register_keras_serializable(package="saccader_tf")
class BagNetBottleneck(keras.layers.Layer):
    """BagNet bottleneck block with a bounded receptive field.

    Residual branch: 1x1 conv `filters` → BN → ReLU → `k`x`k` conv `filters`, stride `s`, VALID →
    BN → ReLU → 1x1 conv `4·filters` → BN (γ initialised to 0) → optional CBAM/ADCM.
    Shortcut: identity, or a 1x1 stride-`s` projection conv + BN when the channel count or the
    stride changes, cut to the residual's `H' x W'` (`shortcut_crop`): `"center"` first crops the
    input by `(k - 1) / 2` pixels per side, so that shortcut cell `(i, j)` is the centre of the
    `k`x`k` window of residual cell `(i, j)`; `"bottom_right"` projects the whole input and drops
    its last rows and columns, so that it is the window's top-left cell (the layout of the
    published PyTorch BagNets, docs/pretrained.md). Output: ReLU(residual + shortcut).
    Convolutions have no bias (each is followed by BN). Nothing is zero-padded, so an output cell
    depends on a `k`x`k` window of input cells only (for `attention=None`).

    Output size: `floor((n - k) / s) + 1` for an `n`x`n` input.

    Note (ours): the projection's BN sits on the shortcut as in standard ResNets; the 2019 TF1 code
    placed it on the main branch. The parameter count is the same.

    Args:
        filters: bottleneck width; the block outputs `4 * filters` channels.
        kernel_size: 1 or 3, the middle convolution's size.
        strides: stride of the middle convolution and of the projection.
        attention: `None`, `"cbam"` or `"adcm"`, applied to the residual branch before the add.
            CBAM pools globally, so such a block is no longer local.
        attention_kwargs: dict of constructor arguments for the attention module.
        shortcut_crop: `"center"` (default) or `"bottom_right"`, see above (`SHORTCUT_CROPS`).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[B, H, W, C]` feature map.
        training: whether BN uses batch statistics (and ADCM drops).

    Returns:
        `[B, H', W', 4 * filters]` with `H' = floor((H - kernel_size) / strides) + 1`.

    Example:

    >>> block = BagNetBottleneck(filters=16, kernel_size=3, strides=2)
    >>> block(keras.ops.zeros((2, 9, 9, 32))).shape
    TensorShape([2, 4, 4, 64])

    Reference:
        Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly
        well on ImageNet", ICLR 2019; He et al., "Deep Residual Learning", CVPR 2016.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        attention=None,
        attention_kwargs=None,
        shortcut_crop="center",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("filters", filters)
        if kernel_size not in (1, 3):
            raise ValueError(f"`kernel_size` must be 1 or 3. Received: kernel_size={kernel_size!r}")
        check_int("strides", strides)
        validate_attention(attention)
        validate_shortcut_crop(shortcut_crop)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.attention = attention
        self.attention_kwargs = dict(attention_kwargs or {})
        self.shortcut_crop = shortcut_crop

    def _conv(self, filters, kernel_size, strides, name):
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="valid",
            use_bias=False,
            kernel_initializer="he_normal",
            name=name,
            dtype=self.dtype_policy,
        )

    def _bn(self, name, gamma_initializer="ones"):
        return BatchNormalization(
            momentum=BN_MOMENTUM,
            epsilon=BN_EPSILON,
            gamma_initializer=gamma_initializer,
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        out_channels = EXPANSION * self.filters
        self.conv1 = self._conv(self.filters, 1, 1, "conv1")
        self.bn1 = self._bn("bn1")
        self.conv2 = self._conv(self.filters, self.kernel_size, self.strides, "conv2")
        self.bn2 = self._bn("bn2")
        self.conv3 = self._conv(out_channels, 1, 1, "conv3")
        self.bn3 = self._bn("bn3", gamma_initializer="zeros")
        self.attention_module = make_attention_module(
            self.attention, name="attention", dtype=self.dtype_policy, **self.attention_kwargs
        )
        self.has_projection = channels != out_channels or self.strides != 1
        if self.has_projection:
            self.shortcut_conv = self._conv(out_channels, 1, self.strides, "shortcut_conv")
            self.shortcut_bn = self._bn("shortcut_bn")
        shape = tuple(input_shape)
        for layer in (self.conv1, self.bn1, self.conv2, self.bn2, self.conv3, self.bn3):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if self.attention_module is not None:
            self.attention_module.build(shape)
        if self.has_projection:
            crop = (self.kernel_size - 1) // 2 if self.shortcut_crop == "center" else 0
            cropped = (
                shape[0],
                _minus(input_shape[1], 2 * crop),
                _minus(input_shape[2], 2 * crop),
                channels,
            )
            self.shortcut_conv.build(cropped)
            self.shortcut_bn.build(self.shortcut_conv.compute_output_shape(cropped))

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.bn1(self.conv1(inputs), training=training))
        x = keras.ops.relu(self.bn2(self.conv2(x), training=training))
        x = self.bn3(self.conv3(x), training=training)
        if self.attention_module is not None:
            x = self.attention_module(x, training=training)
        if self.shortcut_crop == "center":
            shortcut = _center_crop(inputs, (self.kernel_size - 1) // 2)
        else:
            shortcut = inputs
        if self.has_projection:
            shortcut = self.shortcut_bn(self._project(shortcut), training=training)
        if self.shortcut_crop == "bottom_right":
            shortcut = _top_left(shortcut, keras.ops.shape(x))
        return keras.ops.relu(x + shortcut)

    def _project(self, x):
        """The 1x1 stride-`s` projection. With fewer than 16 (or not a multiple of 16) input
        channels it runs as "every `s`-th cell, then a 1x1 stride-1 conv": the same taps and the
        same numbers, but it avoids oneDNN's AVX-512 backward-weights kernel for strided 1x1
        convolutions, which overflows the heap for such channel counts (TensorFlow 2.21; seen as
        segfaults or "double free" in BagNet training steps; docs/reliability.md, "oneDNN")."""
        channels = x.shape[-1]
        if self.strides == 1 or (channels is not None and channels % 16 == 0):
            return self.shortcut_conv(x)
        x = x[:, :: self.strides, :: self.strides, :]
        kernel = keras.ops.cast(self.shortcut_conv.kernel, x.dtype)
        return keras.ops.conv(x, kernel, strides=1, padding="valid")

    def compute_output_shape(self, input_shape):
        def out(n):
            return None if n is None else (n - self.kernel_size) // self.strides + 1

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), EXPANSION * self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            attention=self.attention,
            attention_kwargs=self.attention_kwargs,
            shortcut_crop=self.shortcut_crop,
        )
        return config


def validate_shortcut_crop(shortcut_crop):
    """Raises `ValueError` unless `shortcut_crop` is one of `SHORTCUT_CROPS`."""
    if shortcut_crop not in SHORTCUT_CROPS:
        raise ValueError(
            f"`shortcut_crop` must be one of {SHORTCUT_CROPS}. "
            f"Received: shortcut_crop={shortcut_crop!r}"
        )


def _center_crop(x, crop):
    """`x[:, crop:-crop, crop:-crop, :]` as a plain slice: its gradient is one `Pad`, cheaper on
    a CPU than the `StridedSliceGrad` of the indexing expression."""
    if not crop:
        return x
    shape = keras.ops.shape(x)
    return keras.ops.slice(
        x, (0, crop, crop, 0), (shape[0], shape[1] - 2 * crop, shape[2] - 2 * crop, shape[3])
    )


def _top_left(x, shape):
    """The first `shape[1]` rows and `shape[2]` columns of `x` (`x[:, :h, :w, :]`): the bottom and
    right edges are dropped."""
    return keras.ops.slice(x, (0, 0, 0, 0), (shape[0], shape[1], shape[2], keras.ops.shape(x)[3]))


def _minus(n, k):
    return None if n is None else n - k
