"""Decoded images of different sizes kept in memory as one flat uint8 buffer, read by index."""

import numpy as np
import tensorflow as tf


class PackedImages:
    """`N` uint8 images `[H_i, W_i, C]` held as three tensors: the pixels one image after the
    other, where each starts, and each one's shape.

    Args:
        images: sequence of uint8 numpy arrays `[H, W, C]` (may be empty).
    """

    def __init__(self, images):
        offsets = np.zeros(len(images) + 1, np.int64)
        np.cumsum([image.size for image in images], out=offsets[1:])
        shapes = np.array([image.shape for image in images], np.int32).reshape(-1, 3)
        buffer = (
            np.concatenate([image.reshape(-1) for image in images])
            if len(images)
            else np.zeros([0], np.uint8)
        )
        # Held once, as tensors (pipelines read them); the numpy arrays are not kept.
        self._buffer, self._offsets, self._shapes = (
            tf.constant(buffer),
            tf.constant(offsets),
            tf.constant(shapes),
        )

    def __len__(self):
        return int(self._shapes.shape[0])

    @property
    def nbytes(self):
        """Size of the pixels in bytes."""
        return int(self._buffer.shape[0])

    def read(self, index):
        """Image `index` (int64 scalar tensor, usable inside tf.data), uint8 `[H, W, C]`."""
        start, end = self._offsets[index], self._offsets[index + 1]
        return tf.reshape(self._buffer[start:end], self._shapes[index])

    def numpy(self, index):
        """Image `index` (a Python int) as a uint8 numpy array `[H, W, C]`."""
        return self.read(tf.constant(index, tf.int64)).numpy()
