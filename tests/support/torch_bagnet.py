"""A PyTorch BagNet-9/17/33 written from Brendel & Bethge's published structure (ICLR 2019), the
reference that the Keras import is compared with.

Structure: a 1x1 conv (3 → 64, no bias), a 3x3 VALID conv (64 → 64, no bias), BN, ReLU; four
groups of ResNet-50 bottlenecks (3, 4, 6, 3 blocks; widths 64, 128, 256, 512; the first block of
a group has stride 2, 2, 2, 1 on its middle conv, and the first `kernel3[g]` blocks of a group a
3x3 middle conv, the others 1x1; no padding anywhere), whose shortcut is the block input, or a
1x1 strided conv + BN of the whole input when the shape changes, then cut to the residual's size by
dropping its bottom rows and right columns; then the mean over space and a linear layer.
State-dict names: `conv1`, `conv2`, `bn1`, `layer{g}.{b}.conv{i}` / `.bn{i}` /
`.downsample.0` / `.downsample.1`, `fc`.
"""

import torch
from torch import nn

KERNEL3 = {"bagnet9": (1, 1, 0, 0), "bagnet17": (1, 1, 1, 0), "bagnet33": (1, 1, 1, 1)}
BLOCKS = (3, 4, 6, 3)
WIDTHS = (64, 128, 256, 512)
STRIDES = (2, 2, 2, 1)


class TorchBottleneck(nn.Module):
    def __init__(self, in_channels, width, kernel_size, stride):
        super().__init__()
        out = 4 * width
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size, stride=stride, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return torch.relu(y + shortcut[:, :, : y.shape[2], : y.shape[3]])


class TorchBagNet(nn.Module):
    def __init__(self, variant, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 1, bias=False)
        self.conv2 = nn.Conv2d(64, 64, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=0.001)
        channels = 64
        for g, (blocks, width, stride, k3) in enumerate(
            zip(BLOCKS, WIDTHS, STRIDES, KERNEL3[variant])
        ):
            group = []
            for b in range(blocks):
                group.append(
                    TorchBottleneck(channels, width, 3 if b < k3 else 1, stride if b == 0 else 1)
                )
                channels = 4 * width
            setattr(self, f"layer{g + 1}", nn.Sequential(*group))
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv2(self.conv1(x))))
        for g in range(1, 5):
            x = getattr(self, f"layer{g}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def random_bagnet(variant, seed=0, num_classes=1000):
    """A `TorchBagNet` in eval mode with random weights, random BN affine parameters and random BN
    running statistics.

    The statistics are those of random images (one cumulative pass in training mode), each then
    perturbed at random (variance scaled by 0.6-1.6, mean shifted by up to 0.3 standard
    deviations): every BN changes its input, while the features keep a unit-like scale through the
    16 blocks, so that the logits depend on the image and not only on the biases.
    """
    torch.manual_seed(seed)
    model = TorchBagNet(variant, num_classes)
    generator = torch.Generator().manual_seed(seed + 1)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):  # He-normal, as ResNets are initialised
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
        for module in norms:
            n = module.num_features
            module.weight.copy_(0.5 + torch.rand(n, generator=generator))
            module.bias.copy_(0.2 * torch.randn(n, generator=generator))
            module.reset_running_stats()
            module.momentum, module.stem_momentum = None, module.momentum
        model.train()(torch.randn(4, 3, 48, 48, generator=generator))
        for module in norms:
            n = module.num_features
            std = module.running_var.sqrt()
            module.running_mean.add_(0.3 * std * (2 * torch.rand(n, generator=generator) - 1))
            module.running_var.mul_(0.6 + torch.rand(n, generator=generator))
            module.momentum = module.stem_momentum
            del module.stem_momentum
            module.num_batches_tracked.fill_(7)
    return model.eval()


def logits(model, images_nhwc):
    """The model's float32 logits `[B, K]` for NumPy NHWC images (given to torch as NCHW)."""
    with torch.no_grad():
        return model(torch.from_numpy(images_nhwc).permute(0, 3, 1, 2).contiguous()).numpy()
