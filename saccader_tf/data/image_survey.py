"""A look at a sample of an image folder's files before training: grayscale or colour, and size.

`survey_images` opens up to `SAMPLE_SIZE` files spread evenly over the (class-sorted) listing with
Pillow and records, for each, whether it is grayscale and how many pixels it has. From that,
`channels="auto"` picks 1 or 3 channels and the decode-once cache estimates its memory.

An image counts as grayscale when its Pillow mode is a single-band one (`1`, `L`, `LA`, `I`,
`I;16`, `F`, `P` with a gray palette) or when, converted to RGB, its three channels are equal
everywhere (grayscale pictures saved as RGB JPEG/PNG are common). `auto` gives 1 channel only when
*every* sampled image is grayscale; a mixed folder gets 3 (its grayscale images are replicated to
RGB, nothing is lost). In a large folder whose colour images are rare enough to be missed by the
sample, those images are read as grayscale: pass `channels=3` (`--channels=3`) for such data.

The survey also counts sampled images with an EXIF orientation tag other than "upright": the
decoders use the pixels as stored (see docs/own_data.md), so the source warns about them.
"""

import dataclasses
import os

import numpy as np
from PIL import Image

SAMPLE_SIZE = 256
_EXIF_ORIENTATION = 0x0112
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclasses.dataclass(frozen=True)
class ImageSurvey:
    """What the sample showed.

    Attributes:
        sampled: number of files opened.
        grayscale: how many of them are grayscale.
        mean_pixels: mean `H * W` of the sampled images.
        rotated: how many carry an EXIF orientation other than "upright" (it is not applied).
    """

    sampled: int
    grayscale: int
    mean_pixels: float
    rotated: int = 0

    @property
    def auto_channels(self):
        """1 when every sampled image is grayscale, else 3."""
        return 1 if self.sampled and self.grayscale == self.sampled else 3

    def estimated_bytes(self, num_images, channels):
        """Estimated size of `num_images` decoded uint8 images with `channels` channels."""
        return int(self.mean_pixels * channels * num_images)


def survey_images(paths, sample_size=SAMPLE_SIZE):
    """Surveys up to `sample_size` of `paths`, evenly spaced (files Pillow cannot open are left out;
    the decoder names them later).

    Returns:
        An `ImageSurvey`.
    """
    if not paths:
        return ImageSurvey(0, 0, 0.0)
    picks = np.unique(np.linspace(0, len(paths) - 1, min(sample_size, len(paths))).astype(int))
    gray, pixels, rotated = 0, [], 0
    for index in picks:
        try:
            with Image.open(os.fsdecode(paths[index])) as image:
                gray += is_grayscale(image)
                pixels.append(image.size[0] * image.size[1])
                rotated += image.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1)
        except Exception:  # noqa: BLE001 - as the decoders: any failure skips it
            continue
    return ImageSurvey(len(pixels), gray, float(np.mean(pixels)) if pixels else 0.0, rotated)


def is_grayscale(image):
    """Whether a Pillow image is grayscale (see the module docstring)."""
    if image.mode in _GRAY_MODES:
        return True
    rgb = np.asarray(image.convert("RGB"))
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )
