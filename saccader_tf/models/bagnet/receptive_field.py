"""Receptive-field arithmetic for unpadded (VALID) convolution stacks.

A stack is a sequence of `(kernel_size, stride)` pairs, one per spatial layer in order. With no
padding anywhere, output cell `(i, j)` sees exactly the input box
`[i * stride, i * stride + rf) x [j * stride, j * stride + rf)`, where

    rf_0 = 1, jump_0 = 1;  rf_l = rf_{l-1} + (k_l - 1) * jump_{l-1};  jump_l = jump_{l-1} * s_l

and `stride = jump_L`. The output size of a VALID layer is `floor((n - k) / s) + 1`.

The limits a model's grid sets are checked here, once: the image must cover the receptive field
(`grid_side`), and a count of distinct cells (glimpses, stage-2 targets) must fit the grid
(`check_cell_count`). The models raise these errors; the launcher shows them with flag names.
"""

from saccader_tf.utils.validation import check_int


def receptive_field(layers):
    """Receptive field and total stride of a VALID convolution stack.

    Args:
        layers: iterable of `(kernel_size, stride)` pairs, input side first.

    Returns:
        `(receptive_field, stride)` as Python ints.
    """
    rf, jump = 1, 1
    for kernel, stride in layers:
        rf += (kernel - 1) * jump
        jump *= stride
    return rf, jump


def output_size(input_size, layers):
    """Spatial output size of a VALID convolution stack for a square `input_size` (0 if empty)."""
    size = input_size
    for kernel, stride in layers:
        if size < kernel:
            return 0
        size = (size - kernel) // stride + 1
    return size


def grid_side(image_size, layers, *, model="this architecture", prefix=""):
    """Side `h = w` of the cell grid of a VALID stack on a square image, which must not be empty.

    Args:
        image_size: positive int `S`, the input side.
        layers: iterable of `(kernel_size, stride)` pairs, input side first.
        model: the model's name, used in the message.
        prefix: put before argument names in the message (`"--"` for the launcher's flags).

    Returns:
        `output_size(image_size, layers)`, a Python int >= 1.

    Raises:
        ValueError: `image_size` is smaller than the receptive field (the grid would be empty).
    """
    check_int(f"{prefix}image_size", image_size)
    side = output_size(image_size, layers)
    if side < 1:
        rf = receptive_field(layers)[0]
        raise ValueError(
            f"{prefix}image_size={image_size} is smaller than the receptive field of {model} "
            f"({rf} px): the grid would be empty, since one cell's receptive field is {rf} px "
            f"wide. Use {prefix}image_size>={rf} or a model with a smaller receptive field. "
            f"Received: {prefix}image_size={image_size}"
        )
    return side


def check_cell_count(name, value, grid, *, model, image_size, prefix=""):
    """Raises `ValueError` unless `1 <= value <= grid * grid`: a count of distinct grid cells
    (the glimpses of a Saccader, the targets of its stage 2) fits the `grid x grid` grid.

    Args:
        name: the argument's name, used in the message (`"num_glimpses"`, `"num_targets"`).
        value: the count to check.
        grid: side of the model's cell grid.
        model: the model's name, used in the message.
        image_size: the input side the grid belongs to, used in the message.
        prefix: put before argument names in the message (`"--"` for the launcher's flags).
    """
    check_int(f"{prefix}{name}", value)
    cells = grid * grid
    if value > cells:
        raise ValueError(
            f"{prefix}{name}={value} exceeds the {cells} cells of the {grid}x{grid} grid of "
            f"{model} at {image_size} px: it counts distinct cells, at most the number of grid "
            f"cells ({cells} = {grid}x{grid}). Use {prefix}{name}<={cells}, a larger "
            f"{prefix}image_size or a model with a smaller stride. Received: {prefix}{name}={value}"
        )
