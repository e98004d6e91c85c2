"""A SAME-padded dilated convolution computed as one matrix product, against TensorFlow's kernel.

The attention network ran its dilated convolutions this way on CPUs while TensorFlow's dilated
convolution gradient was several times slower than its forward pass (docs/results/benchmark.md).
With oneDNN on, TensorFlow's kernel is now the faster one (docs/results/stage_profile.md), so the
models run Keras's `Conv2D`; the benchmark's `stages` part keeps timing both on each grid, to
show which one a machine favours.
"""

import tensorflow as tf


def same_dilated_conv2d(x, kernel, dilation_rate):
    """`Conv2D(padding="same", dilation_rate=r, use_bias=False)` as pad → k² slices → one matmul.

    With `p = r·(k − 1)/2` zero pixels padded on each side of `x`, output pixel `(i, j)` is

        y[b, i, j, :] = Σ_{u,v < k} x_pad[b, i + r·u, j + r·v, :] @ kernel[u, v]
                      = concat_{u,v}(x_pad[b, i + r·u, j + r·v, :])
                        @ reshape(kernel, [k²·C_in, C_out])

    which is what `keras.layers.Conv2D` computes (the same sums, in another order: equal to float
    rounding). TensorFlow runs a dilated convolution on a CPU as space-to-batch → convolution →
    batch-to-space, and the gradient of that convolution with respect to its input falls far below
    matmul speed at some channel counts; the patch matrix turns forward and backward into matrix
    products and slices (`python -m benchmarks` measures both, docs/results/stage_profile.md). It
    costs `k²` copies of `x` in memory, which is small on the attention network's cell grid.

    Args:
        x: `[B, H, W, C_in]`.
        kernel: `[k, k, C_in, C_out]` with odd `k` (a `Conv2D` layer's kernel, cast to `x.dtype`).
        dilation_rate: positive int `r`.

    Returns:
        `[B, H, W, C_out]`.
    """
    size, _, channels_in, channels_out = kernel.shape
    if size % 2 != 1:
        raise ValueError(f"The kernel size must be odd. Received: kernel.shape={kernel.shape}")
    pad = dilation_rate * (size - 1) // 2
    shape = tf.shape(x)
    height, width = x.shape[1] or shape[1], x.shape[2] or shape[2]
    padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    taps = [
        tf.slice(padded, [0, u * dilation_rate, v * dilation_rate, 0], [-1, height, width, -1])
        for u in range(size)
        for v in range(size)
    ]
    patches = tf.reshape(tf.concat(taps, axis=-1), [-1, size * size * channels_in])
    out = tf.matmul(
        patches, tf.reshape(tf.cast(kernel, x.dtype), [size * size * channels_in, channels_out])
    )
    return tf.reshape(out, [-1, height, width, channels_out])
