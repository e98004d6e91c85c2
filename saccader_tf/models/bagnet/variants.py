"""Architectures of the BagNet representation networks, as data (no code branches).

Every entry fixes the keyword arguments of `saccader_tf.models.BagNet` except `num_classes`:

- `stem`: `"conv3x3"` (one 3x3 conv, the Saccader paper's BagNet-77-lowD) or `"conv1x1_conv3x3"`
  (Brendel & Bethge: 1x1 conv then 3x3 conv).
- `stem_width`: channels of the stem.
- `blocks`: bottleneck blocks per group; `widths`: bottleneck widths (the block output is 4x that);
  `strides`: stride of the first block of each group; `kernel3`: how many leading blocks of each
  group use a 3x3 middle convolution (the rest use 1x1).
- `lowd_width`: width of the 1x1 "lowD" projection on the last features, or 0 for none.

Receptive field / stride / grid at the reference image size (computed, and pinned in the tests):

| variant          | rf | stride | grid                  |
|------------------|----|--------|-----------------------|
| bagnet9          |  9 | 8      | 27x27 at 224          |
| bagnet17         | 17 | 8      | 26x26 at 224          |
| bagnet33         | 33 | 8      | 24x24 at 224          |
| bagnet77_lowd    | 77 | 8      | 19x19 at 224          |
| bagnet29_small   | 29 | 4      | 8x8 at 60, 18x18 at 100 |
| bagnet9_tiny     |  9 | 4      | 12x12 at 56, 4x4 at 24 (tests) |

`bagnet29_small` is ours, for cluttered MNIST: a 28 px digit is about one receptive field, and a
60 px canvas still gives an 8x8 grid of 64 candidate glimpses. It is narrow where the maps are large
(stem 16, first group 8→32 channels) and wider where they are small, because on a CPU the
full-resolution layers dominate the step time.
`bagnet9_tiny` exists for fast tests.
"""

_RESNET50_BLOCKS = (3, 4, 6, 3)
_RESNET50_WIDTHS = (64, 128, 256, 512)
_RESNET50_STRIDES = (2, 2, 2, 1)

VARIANTS = {
    "bagnet9": dict(
        stem="conv1x1_conv3x3",
        stem_width=64,
        blocks=_RESNET50_BLOCKS,
        widths=_RESNET50_WIDTHS,
        strides=_RESNET50_STRIDES,
        kernel3=(1, 1, 0, 0),
        lowd_width=0,
    ),
    "bagnet17": dict(
        stem="conv1x1_conv3x3",
        stem_width=64,
        blocks=_RESNET50_BLOCKS,
        widths=_RESNET50_WIDTHS,
        strides=_RESNET50_STRIDES,
        kernel3=(1, 1, 1, 0),
        lowd_width=0,
    ),
    "bagnet33": dict(
        stem="conv1x1_conv3x3",
        stem_width=64,
        blocks=_RESNET50_BLOCKS,
        widths=_RESNET50_WIDTHS,
        strides=_RESNET50_STRIDES,
        kernel3=(1, 1, 1, 1),
        lowd_width=0,
    ),
    "bagnet77_lowd": dict(
        stem="conv3x3",
        stem_width=64,
        blocks=_RESNET50_BLOCKS,
        widths=_RESNET50_WIDTHS,
        strides=_RESNET50_STRIDES,
        kernel3=(2, 2, 2, 2),
        lowd_width=512,
    ),
    "bagnet29_small": dict(
        stem="conv3x3",
        stem_width=16,
        blocks=(2, 2, 1),
        widths=(8, 32, 64),
        strides=(2, 2, 1),
        kernel3=(2, 2, 1),
        lowd_width=128,
    ),
    "bagnet9_tiny": dict(
        stem="conv3x3",
        stem_width=8,
        blocks=(1, 1),
        widths=(4, 8),
        strides=(2, 2),
        kernel3=(1, 1),
        lowd_width=16,
    ),
}
