"""Pixel geometry of glimpses: grid cells to receptive-field boxes, image coverage, object hits.

Boxes are `(ymin, xmin, ymax, xmax)` in input-image pixels, end-exclusive: the box covers rows
`ymin .. ymax - 1` and columns `xmin .. xmax - 1`. A cell index c of an h x w grid is the cell
(i, j) = (c // w, c % w). For a VALID (unpadded) network with total stride s and receptive field r,
cell (i, j) sees exactly the pixels of the box `(i*s, j*s, i*s + r, j*s + r)`.
"""

import tensorflow as tf

from saccader_tf.utils.validation import check_int


def cell_boxes(cells, grid_width, stride, receptive_field):
    """Receptive-field boxes of grid cells.

    Args:
        cells: int tensor of cell indices `[...]` (index i * grid_width + j).
        grid_width: positive int w, the number of grid columns.
        stride: positive int s, the network's total stride in pixels.
        receptive_field: positive int r, the network's receptive field in pixels.

    Returns:
        int32 `[..., 4]` boxes `(i*s, j*s, i*s + r, j*s + r)`, end-exclusive pixels.
    """
    check_int("grid_width", grid_width)
    cells = tf.cast(cells, tf.int32)
    box = cell_box(cells // grid_width, cells % grid_width, stride, receptive_field)
    return tf.stack(box, axis=-1)


def cell_box(row, col, stride, receptive_field):
    """Receptive-field box of the cell in row `row` and column `col`.

    Args:
        row: int `i` (or int tensor `[...]`), the cell's row.
        col: int `j` (or int tensor `[...]`, same shape as `row`), the cell's column.
        stride: positive int s, the network's total stride in pixels.
        receptive_field: positive int r, the network's receptive field in pixels.

    Returns:
        The tuple `(i*s, j*s, i*s + r, j*s + r)`: end-exclusive pixels, Python ints for int
        arguments and tensors `[...]` for tensors.
    """
    check_int("stride", stride)
    check_int("receptive_field", receptive_field)
    ymin, xmin = row * stride, col * stride
    return (ymin, xmin, ymin + receptive_field, xmin + receptive_field)


def center_cell(grid_height, grid_width):
    """Index of the central cell (h // 2, w // 2) of an h x w grid (lower-right of the centre
    when a side is even).

    Args:
        grid_height: positive int h.
        grid_width: positive int w.

    Returns:
        A Python int, `(h // 2) * w + w // 2`.
    """
    check_int("grid_height", grid_height)
    check_int("grid_width", grid_width)
    return (grid_height // 2) * grid_width + grid_width // 2


def coverage(boxes, image_height, image_width):
    """Exact fraction of the image covered by the union of the boxes (clipped to the image).

    The image is rasterised: pixel (y, x) is covered when some box t has
    `ymin_t <= y < ymax_t` and `xmin_t <= x < xmax_t`. The union over T is computed as
    `sum_t row_t(y) * col_t(x) > 0` (an exact integer count in float32), so no `[B, T, H, W]`
    tensor is built.

    Args:
        boxes: `[B, T, 4]` boxes `(ymin, xmin, ymax, xmax)`, end-exclusive pixels (int or float).
        image_height: positive int H.
        image_width: positive int W.

    Returns:
        float32 `[B]`, covered pixels / (H * W), in [0, 1].
    """
    check_int("image_height", image_height)
    check_int("image_width", image_width)
    covered = union_mask(boxes, image_height, image_width)
    return tf.reduce_mean(tf.cast(covered, tf.float32), axis=[1, 2])


def union_mask(boxes, image_height, image_width):
    """Pixels inside the union of the boxes (clipped to the image), without a `[B,T,H,W]` tensor.

    Args:
        boxes: `[B, T, 4]` boxes `(ymin, xmin, ymax, xmax)`, end-exclusive pixels (int or float).
        image_height: H (a Python int or a scalar tensor).
        image_width: W (a Python int or a scalar tensor).

    Returns:
        bool `[B, H, W]`: pixel (y, x) lies in some box t
        (`ymin_t <= y < ymax_t` and `xmin_t <= x < xmax_t`).
    """
    boxes = tf.cast(boxes, tf.float32)
    rows = tf.range(image_height, dtype=tf.float32)
    cols = tf.range(image_width, dtype=tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes[..., None], axis=-2)  # each [B, T, 1]
    in_rows = tf.cast((rows >= ymin) & (rows < ymax), tf.float32)  # [B, T, H]
    in_cols = tf.cast((cols >= xmin) & (cols < xmax), tf.float32)  # [B, T, W]
    return tf.einsum("bth,btw->bhw", in_rows, in_cols) > 0.5  # boxes covering each pixel > 0


def box_hits(boxes, object_boxes):
    """Whether each glimpse box overlaps the object box (intersection area > 0).

    Boxes that only touch along an edge do not hit (boxes are end-exclusive).

    Args:
        boxes: `[B, T, 4]` glimpse boxes `(ymin, xmin, ymax, xmax)`, end-exclusive pixels.
        object_boxes: `[B, 4]` object boxes in the same convention.

    Returns:
        bool `[B, T]`.
    """
    boxes = tf.cast(boxes, tf.float32)
    objects = tf.cast(object_boxes, tf.float32)[:, None, :]  # [B, 1, 4]
    height = tf.minimum(boxes[..., 2], objects[..., 2]) - tf.maximum(boxes[..., 0], objects[..., 0])
    width = tf.minimum(boxes[..., 3], objects[..., 3]) - tf.maximum(boxes[..., 1], objects[..., 1])
    return (height > 0) & (width > 0)
