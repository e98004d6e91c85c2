"""BagNet: a ResNet-50-like classifier whose every output cell sees one bounded image patch."""

import keras

from saccader_tf.layers.attention_modules import validate_attention
from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.models.bagnet.bottleneck import (
    BN_EPSILON,
    BN_MOMENTUM,
    EXPANSION,
    BagNetBottleneck,
    validate_shortcut_crop,
)
from saccader_tf.models.bagnet.receptive_field import grid_side, output_size
from saccader_tf.models.bagnet.receptive_field import receptive_field as stack_receptive_field
from saccader_tf.models.bagnet.variants import VARIANTS
from saccader_tf.models.dtype_policy import logits_dtype
from saccader_tf.models.geometry import cell_box
from saccader_tf.utils.validation import check_int, check_ints

STEMS = ("conv3x3", "conv1x1_conv3x3")
OUTPUT_KEYS = ("logits", "patch_logits", "features", "what_features")
_ARCHITECTURE = ("stem", "stem_width", "blocks", "widths", "strides", "kernel3", "lowd_width")


@keras.saving.register_keras_serializable(package="saccader_tf")
class BagNet(keras.Model):
    """BagNet representation network with per-location logits.

    Stem → groups of `BagNetBottleneck` blocks (only the first block of a group is strided; the
    first `kernel3[g]` blocks of group `g` use a 3x3 middle conv, the rest 1x1) → features
    `P [B,h,w,F]` → optional "lowD" 1x1 conv + BN + ReLU → "what" features `Q [B,h,w,D]` →
    per-location logits `Z = Conv1x1(Q) + b` `[B,h,w,K]` → image logits `mean_ij Z_ij` `[B,K]`.
    Every convolution is VALID, so cell `(i, j)` of `Z` depends only on the input box
    `[i·stride, i·stride + rf) × [j·stride, j·stride + rf)` (unless CBAM/ADCM is inside the blocks:
    then `is_local` is `False`).

    Architectures are named in `saccader_tf.models.bagnet.variants.VARIANTS`; any architecture
    argument given explicitly overrides the variant's value (docs/design.md, "BagNet").

    Args:
        num_classes: number of classes `K`.
        variant: a key of `VARIANTS` (e.g. `"bagnet77_lowd"`, `"bagnet33"`, `"bagnet29_small"`), or
            `None` to give every architecture argument explicitly.
        stem: `"conv3x3"` or `"conv1x1_conv3x3"`.
        stem_width: channels of the stem.
        blocks: blocks per group, e.g. `(3, 4, 6, 3)`.
        widths: bottleneck width per group (outputs are 4x wider).
        strides: stride of each group's first block.
        kernel3: number of leading 3x3 blocks per group.
        lowd_width: width of the lowD projection; 0 for none (then `Q = P`).
        attention: `None`, `"cbam"` or `"adcm"` inside every block's residual branch.
        attention_kwargs: constructor arguments of the attention modules.
        input_channels: channels of the input images (any count).
        image_size: fixed square input size, or `None` for any size ≥ `receptive_field`. When
            given, an architecture whose grid would be empty raises `ValueError`.
        shortcut_crop: how every block cuts its shortcut to the residual's size: `"center"` (the
            TF1 Saccader code) or `"bottom_right"` (the published PyTorch BagNets); see
            `BagNetBottleneck`.
        stem_bn_momentum: Keras momentum of the stem's BN (`0.999` in the published PyTorch
            BagNets, whose stem BN has PyTorch momentum `0.001`); the blocks keep `0.9`.
        **kwargs: `name`, `dtype` and other base-model arguments.

    Call arguments:
        images: `[B, S, S, C]` float images (normalised).
        training: BN batch statistics (and ADCM dropout) when `True`.

    Returns:
        A dict: `"logits"` `[B,K]` image logits; `"patch_logits"` `[B,h,w,K]`; `"features"`
        `[B,h,w,F]` (input of the attention network); `"what_features"` `[B,h,w,D]`.

    Example:

    >>> model = BagNet(num_classes=10, variant="bagnet29_small", input_channels=1, image_size=60)
    >>> model(keras.ops.zeros((2, 60, 60, 1)))["patch_logits"].shape
    TensorShape([2, 8, 8, 10])

    Reference:
        Brendel & Bethge, ICLR 2019 (arXiv 1904.00760); Elsayed, Kornblith & Le, NeurIPS 2019
        (arXiv 1908.07644) for BagNet-77-lowD.
    """

    def __init__(
        self,
        num_classes,
        variant="bagnet77_lowd",
        stem=None,
        stem_width=None,
        blocks=None,
        widths=None,
        strides=None,
        kernel3=None,
        lowd_width=None,
        attention=None,
        attention_kwargs=None,
        input_channels=3,
        image_size=None,
        shortcut_crop="center",
        stem_bn_momentum=BN_MOMENTUM,
        **kwargs,
    ):
        arch = _resolve_architecture(
            variant,
            stem=stem,
            stem_width=stem_width,
            blocks=blocks,
            widths=widths,
            strides=strides,
            kernel3=kernel3,
            lowd_width=lowd_width,
        )
        _validate(
            num_classes,
            arch,
            attention,
            input_channels,
            image_size,
            model=variant or "this architecture",
        )
        validate_shortcut_crop(shortcut_crop)
        _validate_momentum(stem_bn_momentum)
        dtype = kwargs.pop("dtype", None)
        block_options = {
            "attention": attention,
            "attention_kwargs": dict(attention_kwargs or {}),
            "shortcut_crop": shortcut_crop,
        }
        layers = _build_layers(num_classes, arch, block_options, stem_bn_momentum, dtype)
        images = keras.Input(shape=(image_size, image_size, input_channels), name="images")
        outputs = _connect(layers, images, dtype)
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        self.num_classes = num_classes
        self.variant = variant
        for key in _ARCHITECTURE:
            setattr(self, key, arch[key])
        self.attention = attention
        self.attention_kwargs = dict(attention_kwargs or {})
        self.input_channels = input_channels
        self.image_size = image_size
        self.shortcut_crop = shortcut_crop
        self.stem_bn_momentum = stem_bn_momentum
        self._dtype_arg = dtype

    @classmethod
    def from_pytorch(cls, path_or_state_dict, variant="bagnet33", **kwargs):
        """A 1000-class BagNet holding the weights of one of Brendel & Bethge's PyTorch BagNets.

        `model(x)["logits"]` on NHWC images equals the PyTorch model's output on the same images
        in NCHW (docs/pretrained.md). The inputs those weights expect are RGB, scaled to `[0, 1]`
        and normalised with the ImageNet mean and std:
        `saccader_tf.models.bagnet.pretrained.pretrained_bagnet` returns that record too.

        Args:
            path_or_state_dict: a `.pth` / `.pth.tar` file (`torch.save`, zip or legacy format;
                read without torch), a `.npz` or `.safetensors` state dict, or a dict of arrays.
            variant: `"bagnet9"`, `"bagnet17"` or `"bagnet33"` (the published `bagnet8`,
                `bagnet16`, `bagnet32`).
            **kwargs: other constructor arguments (`image_size`, `name`, `dtype`).

        Raises:
            WeightsFileError: the file cannot be read, its hash is not the one in its published
                name, or its tensors do not fit `variant` (a `UserError`, named in one line).
        """
        from saccader_tf.models.bagnet.brendel_layout import build_pretrained

        return build_pretrained(cls, path_or_state_dict, variant, **kwargs)[0]

    # ---------------------------------------------------------------- geometry
    @property
    def conv_stack(self):
        """The `(kernel_size, stride)` of every spatial layer, input side first."""
        return _conv_stack(self._arch())

    @property
    def receptive_field(self):
        """Side in pixels of the input box that one output cell sees."""
        return stack_receptive_field(self.conv_stack)[0]

    @property
    def stride(self):
        """Pixels between the boxes of neighbouring cells."""
        return stack_receptive_field(self.conv_stack)[1]

    @property
    def is_local(self):
        """`True` when every cell depends on its receptive-field box only (no CBAM/ADCM inside)."""
        return self.attention is None

    @property
    def feature_width(self):
        """Channels `F` of `features` (the attention network's input)."""
        return EXPANSION * self.widths[-1]

    @property
    def what_width(self):
        """Channels `D` of `what_features`."""
        return self.lowd_width or self.feature_width

    def grid_size(self, image_size):
        """Side `h = w` of the cell grid for a square `image_size` input (0 if too small)."""
        return output_size(image_size, self.conv_stack)

    def cell_box(self, i, j):
        """Pixel box `(ymin, xmin, ymax, xmax)` (end-exclusive) seen by cell `(i, j)`."""
        return cell_box(i, j, self.stride, self.receptive_field)

    def _arch(self):
        return {key: getattr(self, key) for key in _ARCHITECTURE}

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "variant": self.variant,
        }
        config.update(self._arch())
        config.update(
            attention=self.attention,
            attention_kwargs=self.attention_kwargs,
            input_channels=self.input_channels,
            image_size=self.image_size,
            shortcut_crop=self.shortcut_crop,
            stem_bn_momentum=self.stem_bn_momentum,
        )
        if self._dtype_arg is not None:
            config["dtype"] = keras.dtype_policies.serialize(
                keras.dtype_policies.get(self._dtype_arg)
            )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


def variant_conv_stack(variant):
    """The `(kernel_size, stride)` stack of a named variant, without building any layer.

    Lets callers check the receptive field and grid of a configuration before paying for a model
    (`saccader_tf.models.bagnet.receptive_field`: `receptive_field(stack)`,
    `output_size(size, stack)`).
    """
    return _conv_stack(_resolve_architecture(variant))


def _resolve_architecture(variant, **overrides):
    if variant is None:
        missing = [k for k, v in overrides.items() if v is None and k != "lowd_width"]
        if missing:
            raise ValueError(
                f"With `variant=None` every architecture argument is needed; missing {missing}. "
                "Received: variant=None"
            )
        base = {"lowd_width": 0}
    elif variant not in VARIANTS:
        raise ValueError(
            f"Unknown BagNet variant; known: {sorted(VARIANTS)}. Received: variant={variant!r}"
        )
    else:
        base = dict(VARIANTS[variant])
    arch = {**base, **{k: v for k, v in overrides.items() if v is not None}}
    for key in ("blocks", "widths", "strides", "kernel3"):
        arch[key] = tuple(arch[key])
    return arch


def _conv_stack(arch):
    stack = [(3, 1)] if arch["stem"] == "conv3x3" else [(1, 1), (3, 1)]
    for g, num_blocks in enumerate(arch["blocks"]):
        for b in range(num_blocks):
            kernel = 3 if b < arch["kernel3"][g] else 1
            stack.append((kernel, arch["strides"][g] if b == 0 else 1))
    return stack


def _validate(num_classes, arch, attention, input_channels, image_size, model):
    check_int("num_classes", num_classes)
    check_int("input_channels", input_channels)
    check_int("stem_width", arch["stem_width"])
    if arch["stem"] not in STEMS:
        raise ValueError(f"`stem` must be one of {STEMS}. Received: stem={arch['stem']!r}")
    groups = len(arch["blocks"])
    for key in ("blocks", "widths", "strides", "kernel3"):
        if len(arch[key]) != groups or groups == 0:
            raise ValueError(
                f"`{key}` needs one entry per group ({groups} groups, from `blocks`). "
                f"Received: {key}={arch[key]!r}"
            )
    for key in ("blocks", "widths", "strides"):
        check_ints(key, arch[key])
    for g, k3 in enumerate(arch["kernel3"]):
        if not isinstance(k3, int) or not 0 <= k3 <= arch["blocks"][g]:
            raise ValueError(
                f"`kernel3[{g}]` must be an integer in [0, blocks[{g}]={arch['blocks'][g]}]. "
                f"Received: kernel3={arch['kernel3']!r}"
            )
    if not isinstance(arch["lowd_width"], int) or arch["lowd_width"] < 0:
        raise ValueError(
            f"`lowd_width` must be an integer >= 0. Received: lowd_width={arch['lowd_width']!r}"
        )
    validate_attention(attention)
    if image_size is not None:
        grid_side(image_size, _conv_stack(arch), model=model)


def _validate_momentum(momentum):
    number = not isinstance(momentum, bool) and isinstance(momentum, (int, float))
    if not (number and 0 <= momentum <= 1):
        raise ValueError(
            "`stem_bn_momentum` must be a number in [0, 1]. "
            f"Received: stem_bn_momentum={momentum!r}"
        )


def _build_layers(num_classes, arch, block_options, stem_bn_momentum, dtype):
    def conv(filters, kernel, name, use_bias=False):
        return keras.layers.Conv2D(
            filters,
            kernel,
            padding="valid",
            use_bias=use_bias,
            kernel_initializer="he_normal",
            name=name,
            dtype=dtype,
        )

    def bn(name, momentum=BN_MOMENTUM):
        return BatchNormalization(momentum=momentum, epsilon=BN_EPSILON, name=name, dtype=dtype)

    relu = lambda name: keras.layers.ReLU(name=name, dtype=dtype)  # noqa: E731
    width = arch["stem_width"]
    stem = [conv(width, 1, "stem_conv1x1")] if arch["stem"] == "conv1x1_conv3x3" else []
    stem += [
        conv(width, 3, "stem_conv3x3"),
        bn("stem_bn", stem_bn_momentum),
        relu("stem_relu"),
    ]
    blocks = []
    for g, num_blocks in enumerate(arch["blocks"]):
        for b in range(num_blocks):
            blocks.append(
                BagNetBottleneck(
                    filters=arch["widths"][g],
                    kernel_size=3 if b < arch["kernel3"][g] else 1,
                    strides=arch["strides"][g] if b == 0 else 1,
                    **block_options,
                    name=f"group{g + 1}_block{b + 1}",
                    dtype=dtype,
                )
            )
    lowd = []
    if arch["lowd_width"]:
        lowd = [conv(arch["lowd_width"], 1, "lowd_conv"), bn("lowd_bn"), relu("lowd_relu")]
    head = keras.layers.Conv2D(
        num_classes, 1, use_bias=True, name="patch_logits", dtype=logits_dtype(dtype)
    )  # float32 logits in mixed precision
    return {"stem": stem, "blocks": blocks, "lowd": lowd, "head": head}


def _connect(layers, images, dtype):
    """The output dict of `OUTPUT_KEYS` of the layers of `_build_layers` applied to `images`."""
    features = images
    for layer in layers["stem"] + layers["blocks"]:
        features = layer(features)
    what = features
    for layer in layers["lowd"]:
        what = layer(what)
    patch_logits = layers["head"](what)
    logits = keras.layers.GlobalAveragePooling2D(name="logits", dtype=logits_dtype(dtype))(
        patch_logits
    )
    return {
        "logits": logits,
        "patch_logits": patch_logits,
        "features": features,
        "what_features": what,
    }
