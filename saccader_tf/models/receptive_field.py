"""Receptive-field arithmetic for unpadded (VALID) convolution stacks.

A stack is a sequence of `(kernel_size, stride)` pairs, one per spatial layer in order. With no
padding anywhere, output cell `(i, j)` sees exactly the input box
`[i * stride, i * stride + rf) x [j * stride, j * stride + rf)`, where

    rf_0 = 1, jump_0 = 1;  rf_l = rf_{l-1} + (k_l - 1) * jump_{l-1};  jump_l = jump_{l-1} * s_l

and `stride = jump_L`. The output size of a VALID layer is `floor((n - k) / s) + 1`.
"""


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


def min_input_size(layers):
    """Smallest square input that yields a 1x1 output: the receptive field itself."""
    return receptive_field(layers)[0]
