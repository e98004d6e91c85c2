"""Preprocessing recipes: how a decoded image becomes a training and an evaluation input.

One preprocessing recipe is chosen per run and applied the same way to image folders and TFDS
datasets:

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

The evaluation half is defined once, by `preprocess_for_eval` (centre crop, resize,
normalisation), for one image `[H, W, C]` or a batch `[N, H, W, C]` of any `H, W`: the evaluation
pipelines call it through `Recipe.eval`, and the SavedModel export
(`saccader_tf.export.savedmodel`) calls it inside its graph on raw images, with the `crop_fraction`
and resize method recorded in model_dir's `preprocessing.json` (see docs/design.md,
"Preprocessing").

All randomness is stateless and driven by a `[2]` seed per image, so a pipeline whose seeds are a
function of the example's position reproduces (see `saccader_tf.data.resumable_epochs`).
"""

import dataclasses
from typing import Optional

import tensorflow as tf

from saccader_tf.data.crops import (
    CROP_FRACTION,
    MAX_CROP_ATTEMPTS,
    center_crop,
    random_crop,
    random_crop_encoded,
)
from saccader_tf.data.crops import crop_window as crop_window
from saccader_tf.data.encoded_images import decode_encoded
from saccader_tf.data.normalization import normalize_images
from saccader_tf.utils.errors import BadValueError

RECIPES = ("imagenet", "light", "none", "imagenet_tf1")
"""The preprocessing recipe names (`--augment`)."""
INCEPTION_CROP_RECIPES = ("imagenet", "imagenet_tf1")
RESIZE_METHODS = ("bilinear", "bicubic")
TF1_MAX_CROP_ATTEMPTS = 100
"""Attempts of the official TF1 code's Inception crop (the `imagenet_tf1` recipe)."""
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
            raise BadValueError(
                f"`recipe` must be one of {RECIPES}. Received: recipe={self.name!r}"
            )
        if self.flip is not None and not isinstance(self.flip, bool):
            raise BadValueError(f"`flip` must be True, False or None. Received: flip={self.flip!r}")

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
        `crop_fraction` of `preprocess_for_eval`, recorded for the export)."""
        if self.name == "imagenet_tf1":
            return tf1_crop_fraction(image_size)
        return CROP_FRACTION if self.name == "imagenet" else None

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
        crop_seed, flip_seed = _split_seed(seed)
        if self.name in INCEPTION_CROP_RECIPES:
            image = random_crop(image, crop_seed, **self._crop_args(image_size))
        return self._finish(image, crop_seed, flip_seed, image_size=image_size, mean=mean, std=std)

    def train_encoded(self, encoded, seed, *, channels, image_size, mean, std):
        """One training input from encoded bytes: the same result as `train` of the decoded image.

        For a JPEG under an Inception-crop recipe only the crop window is decoded
        (`random_crop_encoded`); every other image is decoded whole (`decode_encoded`) first.

        Args:
            encoded: string scalar tensor, the bytes of a JPEG, PNG, BMP or GIF file.
            seed: int32/int64 tensor `[2]`, the image's own seed.
            channels: 1 or 3.
            image_size: output side `S`.
            mean, std: per-channel normalisation (`[0, 1]` units, `channels` values each).

        Returns:
            float32 tensor `[S, S, channels]`, normalised.
        """
        crop_seed, flip_seed = _split_seed(seed)
        if self.name in INCEPTION_CROP_RECIPES:
            crop_args = self._crop_args(image_size)
            image = random_crop_encoded(encoded, crop_seed, channels=channels, **crop_args)
        else:
            image = decode_encoded(encoded, channels)
        return self._finish(image, crop_seed, flip_seed, image_size=image_size, mean=mean, std=std)

    def _crop_args(self, image_size):
        tf1 = self.name == "imagenet_tf1"
        return dict(
            max_attempts=TF1_MAX_CROP_ATTEMPTS if tf1 else MAX_CROP_ATTEMPTS,
            fallback_fraction=self.eval_crop_fraction(image_size),
        )

    def _finish(self, image, crop_seed, flip_seed, *, image_size, mean, std):
        """The training half after the Inception crop (if any): resize, shift, flip, normalise."""
        if self.name in INCEPTION_CROP_RECIPES:
            image = resize(image, image_size, self.resize_method)
        else:
            image = resize(image, image_size)
            if self.name == "light":
                image = random_shift(image, crop_seed, light_max_shift(image_size))
        if self.flips:
            image = tf.image.stateless_random_flip_left_right(image, flip_seed)
        image = normalize_images(image, mean, std)
        return tf.ensure_shape(image, [image_size, image_size, len(mean)])

    def eval(self, image, *, image_size, mean, std):
        """One evaluation input: uint8 `[H, W, C]` → float32 `[S, S, C]`, `preprocess_for_eval`
        with this recipe's crop (`eval_crop_fraction`) and resize method."""
        return preprocess_for_eval(
            image,
            image_size=image_size,
            mean=mean,
            std=std,
            crop_fraction=self.eval_crop_fraction(image_size),
            resize_method=self.resize_method,
        )


def preprocess_for_eval(images, *, image_size, mean, std, crop_fraction, resize_method="bilinear"):
    """The evaluation preprocessing: centre crop, resize to `S x S`, `(x / 255 - mean) / std`.

    The crop is `crop_window`'s square (none when `crop_fraction` is `None`); the resize is
    `resize` (no antialiasing). Works on one image or a batch of any `H, W`, eagerly, in a
    `tf.data` map and in a traced graph with unknown `N, H, W` (the SavedModel export).

    Args:
        images: uint8 (or float with values in `[0, 255]`) tensor `[H, W, C]` or `[N, H, W, C]`.
        image_size: output side `S`.
        mean, std: per-channel normalisation, `C` floats each (`[0, 1]` units).
        crop_fraction: fraction of the shorter side kept, in `(0, 1]`, or `None` (no crop).
        resize_method: `"bilinear"` or `"bicubic"` (the `imagenet_tf1` recipe's).

    Returns:
        float32 tensor `[S, S, C]` or `[N, S, S, C]`.
    """
    images = tf.convert_to_tensor(images)
    if crop_fraction is not None:
        images = center_crop(images, crop_fraction)
    inputs = normalize_images(resize(images, image_size, resize_method), mean, std)
    return tf.ensure_shape(
        inputs, images.shape[:-3].concatenate([image_size, image_size, len(mean)])
    )


def tf1_crop_fraction(image_size):
    """The official TF1 code's evaluation crop for side `S`: `S / (S + floor(S / 10))`.

    224 / (224 + 22) = 224 / 246 ≈ 0.911 (a padding of about a tenth of the side, where the
    `imagenet` recipe keeps 0.875 = 224 / 256 at every size).
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise BadValueError(
            f"`image_size` must be a positive int. Received: image_size={image_size!r}"
        )
    return image_size / (image_size + image_size // 10)


def light_max_shift(image_size):
    """Largest shift in pixels of the `light` recipe: `max(1, round(S / 16))`."""
    return max(1, int(round(image_size * LIGHT_MAX_SHIFT_FRACTION)))


def resize_method_of(recipe_name):
    """The resize method of a preprocessing recipe name: `"bicubic"` for `imagenet_tf1`, else
    `"bilinear"`.

    Also for recipe names recorded by older runs (`None`, a name no longer known): bilinear.
    """
    return "bicubic" if recipe_name == "imagenet_tf1" else "bilinear"


def resize(images, image_size, method="bilinear"):
    """Resize of the whole image(s) to `S x S` (`method`: `"bilinear"` or `"bicubic"`, half-pixel
    centres, no antialiasing), float32 in the input's value range (bicubic may overshoot it).

    Images that already are `S x S` are only cast (a same-size resize samples every pixel at its
    own centre, where both kernels weigh that pixel alone: the same values, without the work).

    Args:
        images: tensor `[H, W, C]` or `[N, H, W, C]` (rank known when tracing).
        image_size: output side `S`.
        method: `"bilinear"` or `"bicubic"`.

    Returns:
        float32 tensor `[S, S, C]` or `[N, S, S, C]`.
    """
    if method not in RESIZE_METHODS:
        raise BadValueError(
            f"`resize_method` must be 'bilinear' or 'bicubic'. Received: resize_method={method!r}"
        )
    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    same = tf.logical_and(tf.equal(shape[-3], image_size), tf.equal(shape[-2], image_size))
    resized = tf.cond(
        same,
        lambda: tf.cast(images, tf.float32),
        lambda: tf.image.resize(images, [image_size, image_size], method=method),
    )
    static = images.shape[:-3].concatenate([image_size, image_size, images.shape[-1]])
    return tf.ensure_shape(resized, static)


def random_shift(image, seed, max_shift):
    """Shifts `image [S, S, C]` by `(dy, dx)`, each uniform in `[-max_shift, max_shift]`; pixels
    moved in from outside are 0 (black in raw pixel values).

    Same as zero-padding by `max_shift` on every side and cutting a random `S x S` window.
    """
    size = tf.shape(image)[:2]
    padded = tf.pad(image, [[max_shift, max_shift], [max_shift, max_shift], [0, 0]])
    offset = tf.random.stateless_uniform([2], seed, 0, 2 * max_shift + 1, dtype=tf.int32)
    return tf.slice(padded, tf.concat([offset, [0]], 0), tf.concat([size, [-1]], 0))


def _split_seed(seed):
    """The crop and flip seeds `[2]` of an image's seed."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
