"""The occlusion check: blank the policy's chosen cells, or as many random cells, for the BagNet.

If the learned policy looks where the evidence is, blanking its T chosen receptive fields should
hurt the full-image BagNet more than blanking T random cells. The judge is the stage-1 BagNet when
evaluation has it (`evaluate_model(stage1=...)`): stage 3 trained the final BagNet together with
the very policy under test, so judging with it would be circular.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.models.geometry import union_mask


def blank_boxes(images, boxes, fill_value=0.0):
    """Sets every pixel inside the union of the boxes to `fill_value`; the rest is unchanged.

    Args:
        images: `[B, H, W, C]` float images (normalised).
        boxes: `[B, T, 4]` boxes, end-exclusive pixels.
        fill_value: a scalar or a `[C]` vector, e.g. the normalised value of black
            (`black_value(source)`).

    Returns:
        `[B, H, W, C]` images of the same dtype.
    """
    images = tf.convert_to_tensor(images)
    mask = union_mask(boxes, tf.shape(images)[1], tf.shape(images)[2])[..., None]
    fill = tf.cast(tf.broadcast_to(fill_value, tf.shape(images)[-1:]), images.dtype)
    return tf.where(mask, fill, images)


def random_cells(batch_size, num_cells, count, seed):
    """`count` distinct cells per image, uniform without replacement (a stateless, seeded draw).

    The cells are the first `count` entries of a uniformly random permutation, so every prefix is
    itself a uniform draw without replacement.

    Args:
        batch_size: B (int or scalar tensor).
        num_cells: N, the number of grid cells.
        count: how many cells, `<= N`.
        seed: int32 `[2]` stateless seed.

    Returns:
        int32 `[B, count]`.
    """
    noise = tf.random.stateless_uniform(tf.stack([batch_size, num_cells]), seed=seed)
    return tf.argsort(noise, axis=-1, stable=True)[:, :count]


def black_value(source):
    """The normalised value of a black pixel for `source` (its "zero"), float32 `[C]`."""
    return np.asarray(source.normalize(tf.zeros([source.channels], tf.uint8)), np.float32)


def occlusion_logits(saccader, images, cells, steps, fill_value, seed, judge=None):
    """Full-image BagNet logits with the chosen cells, or as many random cells, blanked.

    Args:
        saccader: the `Saccader` whose cells (grid and boxes) are blanked.
        images: `[B, S, S, C]`.
        cells: int32 `[B, T]` cells chosen by the policy, in order (`T >= max(steps)`).
        steps: tuple of glimpse counts t; the first t chosen cells (resp. t random cells) are
            blanked.
        fill_value: value of blanked pixels.
        seed: int32 `[2]` seed of the random cells.
        judge: the BagNet that classifies the blanked images (e.g. the stage-1 network's
            `representation`); default `saccader.representation`.

    Returns:
        A dict `{"chosen": [...], "random": [...]}`, each a list (one per t) of float32 `[B, K]`.
    """
    judge = judge or saccader.representation
    num_cells = saccader.num_cells
    random = random_cells(tf.shape(images)[0], num_cells, max(steps), seed)
    logits = {"chosen": [], "random": []}
    for t in steps:
        for kind, chosen in (("chosen", cells), ("random", random)):
            blanked = blank_boxes(images, saccader.boxes(chosen[:, :t]), fill_value)
            out = judge(blanked, training=False)["logits"]
            logits[kind].append(tf.cast(out, tf.float32))
    return logits
