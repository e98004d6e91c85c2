"""Preprocessing recipes: how a decoded image becomes a training and an evaluation input.

One recipe is chosen per run and applied the same way to image folders and TFDS datasets:

- `imagenet`: training: Inception random crop (area 0.08–1, aspect 3/4–4/3), resize, horizontal
  flip; evaluation (and export): centre crop 0.875, resize.
- `imagenet_tf1`: training: as `imagenet`, 100 crop attempts, bicubic resize; evaluation (and
  export): crop `S/(S + S//10)`, bicubic.
- `light`: training: resize, then a random shift of up to `1/16` of the side (zero padding, then an
  `S x S` crop); evaluation (and export): resize.
- `none`: training: resize; evaluation (and export): resize.

`imagenet` is for natural photos at ImageNet scale (and the ImageNet presets in `launch/`): its
crops of 8 % of the area would cut a small or off-centre object out, and its centre crop cuts off
objects near the border. `light` is the default for a user's own images: images that are already
framed keep their scale and content, and small shifts still vary them. `none` trains on exactly
the resized images. Flips are on only for `imagenet` (and `imagenet_tf1`) unless asked for
(`flip=True`), because a flip changes the class of digits, text and many other things. "Resize" is
a bilinear `tf.image.resize` of the whole image to `S x S` (no aspect-preserving crop), so
evaluation sees everything that is in the image.

`imagenet_tf1` is a reproduction switch (off unless chosen): the official TF1 code's ImageNet
preprocessing, for comparing with the paper's numbers. It differs from `imagenet` in three
quantities only: bicubic instead of bilinear resizing (both halves; no antialiasing, values may
overshoot the pixel range slightly, as bicubic does), 100 instead of 10 attempts of the
Inception crop, and the evaluation crop `S / (S + floor(S / 10))` of the shorter side (224/246 ≈
0.911 at 224 px) instead of 0.875. The crop side is rounded as in every recipe (the TF1 code
floors it: at most one pixel apart).

All randomness is stateless and driven by a `[2]` seed per image, so a pipeline whose seeds are a
function of the example's position reproduces (see `saccader_tf.data.resumable_epochs`).
"""

import dataclasses
from typing import Optional

import tensorflow as tf

from saccader_tf.data import imagenet_preprocessing
from saccader_tf.data.normalization import normalize_images

RECIPES = ("imagenet", "light", "none", "imagenet_tf1")
INCEPTION_CROP_RECIPES = ("imagenet", "imagenet_tf1")
LIGHT_MAX_SHIFT_FRACTION = 1.0 / 16.0
"""Largest shift of the `light` recipe, as a fraction of the side `S` (4 px at 60, 14 px at 224)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A preprocessing recipe (see the module docstring).

    Args:
        name: one of `RECIPES`.
        flip: random horizontal flips in training; `None` = the recipe's default (on for
            `imagenet` and `imagenet_tf1` only).
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
        return self.name in INCEPTION_CROP_RECIPES if self.flip is None else self.flip

    @property
    def resize_method(self):
        """`"bicubic"` for `imagenet_tf1`, `"bilinear"` otherwise (both halves and the export)."""
        return resize_method_of(self.name)

    def eval_crop_fraction(self, image_size):
        """The evaluation crop at side `S = image_size`: a fraction of the shorter side (0.875 for
        `imagenet`, `S / (S + S // 10)` for `imagenet_tf1`), `None` (no crop) otherwise (the
        `crop_fraction` of `saccader_tf.export.savedmodel.preprocess_images`)."""
        if self.name == "imagenet_tf1":
            return imagenet_preprocessing.tf1_crop_fraction(image_size)
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
        elif self.name == "imagenet_tf1":
            crop = imagenet_preprocessing.random_crop(
                image,
                crop_seed,
                max_attempts=imagenet_preprocessing.TF1_MAX_CROP_ATTEMPTS,
                fallback_fraction=self.eval_crop_fraction(image_size),
            )
            image = resize(crop, image_size, self.resize_method)
        else:
            image = resize(image, image_size)
            if self.name == "light":
                image = random_shift(image, crop_seed, light_max_shift(image_size))
        if self.flips:
            image = tf.image.stateless_random_flip_left_right(image, flip_seed)
        image = normalize_images(image, mean, std)
        return tf.ensure_shape(image, [image_size, image_size, len(mean)])

    def eval(self, image, *, image_size, mean, std):
        """One evaluation input: uint8 `[H, W, C]` → float32 `[S, S, C]` (see
        `eval_crop_fraction`)."""
        crop_fraction = self.eval_crop_fraction(image_size)
        if crop_fraction is not None:
            image = imagenet_preprocessing.center_crop(image, crop_fraction)
        image = normalize_images(resize(image, image_size, self.resize_method), mean, std)
        return tf.ensure_shape(image, [image_size, image_size, len(mean)])


def light_max_shift(image_size):
    """Largest shift in pixels of the `light` recipe: `max(1, round(S / 16))`."""
    return max(1, int(round(image_size * LIGHT_MAX_SHIFT_FRACTION)))


def resize_method_of(recipe_name):
    """The resize method of a recipe name: `"bicubic"` for `imagenet_tf1`, else `"bilinear"`.

    Also for recipe names recorded by older runs (`None`, a name no longer known): bilinear.
    """
    return "bicubic" if recipe_name == "imagenet_tf1" else "bilinear"


def resize(image, image_size, method="bilinear"):
    """Resize of the whole image to `[S, S, C]` (`method`: `"bilinear"` or `"bicubic"`, no
    antialiasing), float32 in the input's value range (bicubic may overshoot it slightly).

    An image that already is `S x S` is only cast (a same-size resize samples every pixel at its
    own centre, where both kernels weigh that pixel alone: the same values, without the work).
    """
    shape = tf.shape(image)
    same = tf.logical_and(tf.equal(shape[0], image_size), tf.equal(shape[1], image_size))
    resized = tf.cond(
        same,
        lambda: tf.cast(image, tf.float32),
        lambda: tf.image.resize(image, [image_size, image_size], method=method),
    )
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
