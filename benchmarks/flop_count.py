"""Analytic FLOPs per image of a Saccader's forward pass and of each training stage's step.

Only multiply-adds are counted (2 FLOPs each): convolutions, the 1x1 "dense" convolutions and the
Saccader cell's three contractions. BatchNorm, ReLU, additions, softmaxes and the optimizer update
are elementwise and not counted (they are memory-bound and small next to the convolutions).

    conv:  2 · H_out · W_out · k · k · C_in · C_out     (a SAME dilated conv computes every tap)
    cell step (N cells, D channels): 3 contractions of 2·N·D each = 6·N·D

Training multipliers (the usual convention, and what TensorFlow's pruned gradient graph computes):
a trained layer costs 3x its forward pass (forward, gradient of the input, gradient of the
weights); a trained layer whose input needs no gradient (the BagNet's first conv, which sees the
images; the attention network's first conv in stage 2, whose input is `stop_gradient`) costs 2x;
a frozen layer whose output needs no gradient (the BagNet in stage 2) costs 1x.

- Stage 1: BagNet forward + backward.
- Stage 2: BagNet forward (frozen), attention network + mixer forward + backward, the cell
  unrolled `num_targets` steps forward + backward.
- Stage 3: the whole model forward + backward with `num_glimpses` cell steps.
"""

import dataclasses

from saccader_tf.models.bagnet.bottleneck import EXPANSION
from saccader_tf.models.saccader.attention_network import DILATION_RATES, KERNEL_SIZES


@dataclasses.dataclass(frozen=True)
class ForwardFlops:
    """Forward FLOPs per image of the parts of a Saccader.

    Attributes:
        first_conv: the BagNet's first convolution (its input is the image).
        bagnet: the rest of the BagNet (stem, blocks, lowD, per-location logits).
        attention_first: the attention network's first (1x1) convolution.
        attention_rest: its other three convolutions.
        mixer: the what/where mixing 1x1 convolution.
        cell_step: one step of the Saccader cell.
    """

    first_conv: int
    bagnet: int
    attention_first: int
    attention_rest: int
    mixer: int
    cell_step: int

    @property
    def representation(self):
        """The whole BagNet."""
        return self.first_conv + self.bagnet

    def saccader(self, num_glimpses):
        """The whole model's forward pass with `num_glimpses` cell steps."""
        return (
            self.representation
            + self.attention_first
            + self.attention_rest
            + self.mixer
            + num_glimpses * self.cell_step
        )


def conv_flops(out_height, out_width, kernel_size, in_channels, out_channels):
    """`2 · H_out · W_out · k · k · C_in · C_out`: FLOPs of one convolution on one image."""
    return 2 * out_height * out_width * kernel_size * kernel_size * in_channels * out_channels


def bagnet_flops(bagnet, image_size):
    """Forward FLOPs per image of a `BagNet`'s first convolution and of the rest of it.

    Args:
        bagnet: a `saccader_tf.models.BagNet` (its architecture attributes are read).
        image_size: side `S` of the square input.

    Returns:
        `(first_conv_flops, rest_flops)`, Python ints.
    """
    size, channels, width = image_size, bagnet.input_channels, bagnet.stem_width
    convs = []
    if bagnet.stem == "conv1x1_conv3x3":
        convs.append(conv_flops(size, size, 1, channels, width))
        channels = width
    size -= 2
    convs.append(conv_flops(size, size, 3, channels, width))
    channels, rest = width, sum(convs[1:])
    for group, num_blocks in enumerate(bagnet.blocks):
        for block in range(num_blocks):
            kernel = 3 if block < bagnet.kernel3[group] else 1
            stride = bagnet.strides[group] if block == 0 else 1
            flops, size, channels = _bottleneck_flops(
                size, channels, bagnet.widths[group], kernel, stride
            )
            rest += flops
    if bagnet.lowd_width:
        rest += conv_flops(size, size, 1, channels, bagnet.lowd_width)
        channels = bagnet.lowd_width
    rest += conv_flops(size, size, 1, channels, bagnet.num_classes)
    return convs[0], rest


def _bottleneck_flops(size, in_channels, filters, kernel, stride):
    """FLOPs, output size and output channels of one `BagNetBottleneck` on a `size`² input."""
    out_size = (size - kernel) // stride + 1
    out_channels = EXPANSION * filters
    flops = (
        conv_flops(size, size, 1, in_channels, filters)
        + conv_flops(out_size, out_size, kernel, filters, filters)
        + conv_flops(out_size, out_size, 1, filters, out_channels)
    )
    if in_channels != out_channels or stride != 1:  # the projection shortcut
        flops += conv_flops(out_size, out_size, 1, in_channels, out_channels)
    return flops, out_size, out_channels


def forward_flops(saccader):
    """`ForwardFlops` per image of a `saccader_tf.models.Saccader` at its `image_size`."""
    rep = saccader.representation
    first_conv, bagnet = bagnet_flops(rep, saccader.image_size)
    grid = saccader.grid
    attention, channels = [], rep.feature_width
    for width, kernel, _ in zip(saccader.attention_widths, KERNEL_SIZES, DILATION_RATES):
        attention.append(conv_flops(grid, grid, kernel, channels, width))  # SAME: grid kept
        channels = width
    mixer_width = saccader.mixer.width
    mixer = conv_flops(grid, grid, 1, channels + rep.what_width, mixer_width)
    return ForwardFlops(
        first_conv=first_conv,
        bagnet=bagnet,
        attention_first=attention[0],
        attention_rest=sum(attention[1:]),
        mixer=mixer,
        cell_step=6 * saccader.num_cells * mixer_width,
    )


def stage_flops(saccader, stage, *, num_targets=12, num_glimpses=None):
    """Analytic FLOPs per image of one training step of `stage` (see the module docstring).

    Args:
        saccader: a `Saccader`.
        stage: 1, 2 or 3.
        num_targets: stage 2's unrolled cell steps.
        num_glimpses: stage 3's glimpses (default: the model's `num_glimpses`).

    Returns:
        A Python int.
    """
    f = forward_flops(saccader)
    if stage == 1:
        return 2 * f.first_conv + 3 * f.bagnet
    if stage == 2:
        return (
            f.representation
            + 2 * f.attention_first
            + 3 * (f.attention_rest + f.mixer + num_targets * f.cell_step)
        )
    if stage == 3:
        steps = saccader.num_glimpses if num_glimpses is None else num_glimpses
        return 2 * f.first_conv + 3 * (f.saccader(steps) - f.first_conv)
    raise ValueError(f"`stage` must be 1, 2 or 3. Received: stage={stage!r}")
