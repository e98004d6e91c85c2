"""DRAM's retina: position channels, glimpse placement and multi-resolution crops (no weights).

Conventions (pixel k spans [k, k+1); boxes `(ymin, xmin, ymax, xmax)` are end-exclusive, as in
`saccader_tf.models.geometry`):

- A location `l = (l_y, l_x)` in `[-1, 1]²` places the high-resolution glimpse of side g on an
  S x S image with its top-left pixel at `round((S - g)/2 · (1 + l))`: `l = -1` is the top/left
  edge, `l = 1` the bottom/right edge, `l = 0` the centre. The glimpse therefore always lies inside
  the image (the TF1 code scales the emitted mean by `1 - g/S` for the same reason).
- The position of a glimpse is also a "cell" of the stride-1 grid of its `(S - g + 1)²` possible
  top-left corners, `cell = top · (S - g + 1) + left`, so its box is
  `geometry.cell_boxes(cell, S - g + 1, stride=1, receptive_field=g)`, exactly like a Saccader cell.
- The n fields of view are `floor(linspace(g, S, n))` pixels (77, 150, 224 at g = 77, S = 224),
  centred on the high-resolution glimpse (offset `floor((g - f)/2)` from its corner); the parts
  outside the image are zeros (every channel, the position channels too).
"""

import tensorflow as tf


def position_channels(images):
    """The normalised row y and column x of every pixel, `linspace(-1, 1, H)` and `(-1, 1, W)`.

    Args:
        images: `[B, H, W, C]` (static H and W).

    Returns:
        `[B, H, W, 2]` in the images' dtype: channel 0 is y, channel 1 is x.
    """
    height, width = images.shape[1], images.shape[2]
    y = tf.linspace(-1.0, 1.0, height)
    x = tf.linspace(-1.0, 1.0, width)
    grid = tf.stack(tf.meshgrid(y, x, indexing="ij"), axis=-1)
    grid = tf.cast(grid, images.dtype)[None]
    return tf.tile(grid, [tf.shape(images)[0], 1, 1, 1])


def fields_of_view(image_size, glimpse_size, num_resolutions):
    """Sides in pixels of the n fields of view, `floor(g + (S - g)·i/(n - 1))` for i = 0..n-1.

    Returns:
        A tuple of n ints from g to S (just `(g,)` when n = 1).
    """
    if num_resolutions == 1:
        return (glimpse_size,)
    span = image_size - glimpse_size
    return tuple(glimpse_size + (span * i) // (num_resolutions - 1) for i in range(num_resolutions))


def glimpse_corners(locations, image_size, glimpse_size):
    """Top-left pixels `[B, 2]` (int32, in `[0, S - g]`) of the high-resolution glimpse at
    `locations`."""
    locations = tf.clip_by_value(tf.cast(locations, tf.float32), -1.0, 1.0)
    half_span = (image_size - glimpse_size) / 2.0
    return tf.cast(tf.round(half_span * (1.0 + locations)), tf.int32)


def corner_cells(corners, image_size, glimpse_size):
    """Cell index `top · (S - g + 1) + left` of top-left corners `[..., 2]` (int32 `[...]`)."""
    return corners[..., 0] * (image_size - glimpse_size + 1) + corners[..., 1]


def pad_for_glimpses(images):
    """Zero-pads every side by S so that any field of view around any location can be sliced."""
    size = images.shape[1]
    return tf.pad(images, [[0, 0], [size, size], [size, size], [0, 0]])


def crop(padded, corners, size, pad):
    """Per-example `size x size` slices of `padded` at image-pixel `corners` `[B, 2]` (int32).

    `padded` is the image zero-padded by `pad` pixels on every side (`pad_for_glimpses`); the slice
    of example b covers image rows `corners[b, 0] .. + size - 1` (and the same for columns).
    """
    rows = corners[:, 0:1] + pad + tf.range(size)[None]
    cols = corners[:, 1:2] + pad + tf.range(size)[None]
    strip = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(strip, cols, axis=2, batch_dims=1)


def multi_resolution_glimpses(padded, corners, fields, glimpse_size, pad):
    """The glimpses of every field of view, each resized (bilinear) to `g x g`.

    Args:
        padded: `[B, S + 2·pad, S + 2·pad, C]` (`pad_for_glimpses`).
        corners: int32 `[B, 2]` top-left of the high-resolution glimpse (`glimpse_corners`).
        fields: sides of the fields of view (`fields_of_view`), the first equal to g.
        glimpse_size: g.
        pad: the padding of `padded`.

    Returns:
        A list of n float32 tensors `[B, g, g, C]`, high resolution first; no gradient flows to
        the pixels.
    """
    glimpses = []
    for side in fields:
        start = corners + (glimpse_size - side) // 2
        patch = tf.cast(crop(padded, start, side, pad), tf.float32)
        if side != glimpse_size:
            patch = tf.image.resize(patch, [glimpse_size, glimpse_size], method="bilinear")
        glimpses.append(tf.stop_gradient(patch))
    return glimpses


def mask_resolutions(glimpses, use_resolution):
    """Replaces each switched-off glimpse by its per-channel spatial mean (broadcast to its shape).

    Args:
        glimpses: list of `[B, g, g, C]`.
        use_resolution: tuple of Python bools, one per glimpse.

    Returns:
        The glimpses concatenated on channels, `[B, g, g, n·C]`.
    """
    kept = []
    for glimpse, use in zip(glimpses, use_resolution):
        if not use:
            glimpse = tf.broadcast_to(
                tf.reduce_mean(glimpse, axis=[1, 2], keepdims=True), tf.shape(glimpse)
            )
        kept.append(glimpse)
    return tf.concat(kept, axis=-1)
