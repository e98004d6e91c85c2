"""Preprocessing recipes: how a decoded image becomes a training and an evaluation input.

One recipe is chosen per run and applied the same way to image folders and TFDS datasets:

| recipe     | training                                            | evaluation (and export)        |
|------------|-----------------------------------------------------|--------------------------------|
| `imagenet` | Inception random crop (area 0.08–1, aspect 3/4–4/3), resize, horizontal flip | centre crop 0.875, resize |
| `light`    | resize, then a random shift of up to `1/16` of the side (zero padding, then an `S x S` crop) | resize |
| `none`     | resize                                              | resize                         |

`imagenet` is for natural photos at ImageNet scale (and the ImageNet presets in `launch/`): its crops
of 8 % of the area would cut a small or off-centre object out, and its centre crop cuts off objects
near the border. `light` is the default for a user's own images: images that are already framed keep
their scale and content, and small shifts still vary them. `none` trains on exactly the resized
images. Flips are on only for `imagenet` unless asked for (`flip=True`), because a flip changes the
class of digits, text and many other things. "Resize" is a bilinear `tf.image.resize` of the whole
image to `S x S` (no aspect-preserving crop), so evaluation sees everything that is in the image.

All randomness is stateless and driven by a `[2]` seed per image, so a pipeline whose seeds are a
function of the example's position reproduces (see `saccader_tf.data.resumable_epochs`).
"""

import dataclasses
from typing import Optional

import tensorflow as tf

from saccader_tf.data import imagenet_preprocessing
from saccader_tf.data.normalization import normalize_images

RECIPES = ("imagenet", "light", "none")
LIGHT_MAX_SHIFT_FRACTION = 1.0 / 16.0
"""Largest shift of the `light` recipe, as a fraction of the side `S` (4 px at 60, 14 px at 224)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A preprocessing recipe (see the module docstring).

    Args:
        name: one of `RECIPES`.
        flip: random horizontal flips in training; `None` = the recipe's default (on for
            `imagenet` only).
    """

    name: str
    flip: Optional[bool] = None

    def __post_init__(self):
        if self.name not in RECIPES:
            raise ValueError(f"`recipe` must be one of {RECIPES}. Received: recipe={self.name!r}")
        if self.flip is not None and not isinstance(self.flip, bool):
            raise ValueError(f"`flip` must be True, False or None. Received: flip={self.flip!r}")

    @property
    def flips(self):
        """Whether training flips images horizontally."""
        return self.name == "imagenet" if self.flip is None else self.flip

    @property
    def crop_fraction(self):
        """The evaluation crop: a fraction of the shorter side for `imagenet`, `None` (no crop)
        otherwise (the `crop_fraction` of `saccader_tf.export.preprocess_images`)."""
        return imagenet_preprocessing.CROP_FRACTION if self.name == "imagenet" else None

    def settings(self):
        """JSON-serialisable description (recorded with the run)."""
        return {"augment": self.name, "flip": self.flips}

    def train(self, image, seed, *, image_size, mean, std):
        """One training input.

        Args:
            image: uint8 tensor `[H, W, C]`.
            seed: int32/int64 tensor `[2]`, the image's own seed.
            image_size: output side `S`.
            mean, std: per-channel normalisation (`[0, 1]` units).

        Returns:
            float32 tensor `[S, S, C]`, normalised.
        """
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        if self.name == "imagenet":
            image = resize(imagenet_preprocessing.random_crop(image, crop_seed), image_size)
        else:
            image = resize(image, image_size)
            if self.name == "light":
                image = random_shift(image, crop_seed, light_max_shift(image_size))
        if self.flips:
            image = tf.image.stateless_random_flip_left_right(image, flip_seed)
        image = normalize_images(image, mean, std)
        return tf.ensure_shape(image, [image_size, image_size, len(mean)])

    def eval(self, image, *, image_size, mean, std):
        """One evaluation input: uint8 `[H, W, C]` → float32 `[S, S, C]` (see `crop_fraction`)."""
        if self.crop_fraction is not None:
            image = imagenet_preprocessing.center_crop(image, self.crop_fraction)
        image = normalize_images(resize(image, image_size), mean, std)
        return tf.ensure_shape(image, [image_size, image_size, len(mean)])


def light_max_shift(image_size):
    """Largest shift in pixels of the `light` recipe: `max(1, round(S / 16))`."""
    return max(1, int(round(image_size * LIGHT_MAX_SHIFT_FRACTION)))


def resize(image, image_size):
    """Bilinear resize of the whole image to `[S, S, C]`, float32 in the input's value range.

    An image that already is `S x S` is only cast (a same-size bilinear resize samples every
    pixel at its own centre: the same values, without the work).
    """
    shape = tf.shape(image)
    same = tf.logical_and(tf.equal(shape[0], image_size), tf.equal(shape[1], image_size))
    resized = tf.cond(same, lambda: tf.cast(image, tf.float32),
                      lambda: tf.image.resize(image, [image_size, image_size], method="bilinear"))
    return tf.ensure_shape(resized, [image_size, image_size, image.shape[-1]])


def random_shift(image, seed, max_shift):
    """Shifts `image [S, S, C]` by `(dy, dx)`, each uniform in `[-max_shift, max_shift]`; pixels
    moved in from outside are 0 (black in raw pixel values).

    Same as zero-padding by `max_shift` on every side and cutting a random `S x S` window.
    """
    size = tf.shape(image)[:2]
    padded = tf.pad(image, [[max_shift, max_shift], [max_shift, max_shift], [0, 0]])
    offset = tf.random.stateless_uniform([2], seed, 0, 2 * max_shift + 1, dtype=tf.int32)
    return tf.slice(padded, tf.concat([offset, [0]], 0), tf.concat([size, [-1]], 0))
