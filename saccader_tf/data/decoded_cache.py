"""Decode once: a split's images decoded into memory as uint8, read by listing index.

`DecodedCache.build(files)` decodes every slot of an `ImageFiles` listing once (with the same
substitution of unreadable files as streaming) and keeps the pixels in one flat uint8 buffer with
per-image offsets and shapes (`PackedImages`), so folders of images of different sizes are cached
too. Its
`examples(indices)` yields exactly what `ImageFiles.examples(indices)` would decode, so cached and
streamed pipelines give identical batches; augmentation stays per epoch (applied after reading).

`should_cache` decides between the two from an estimate of the decoded size against a memory
budget (`DEFAULT_BUDGET_BYTES`).
"""

import concurrent.futures

import numpy as np
import tensorflow as tf

from saccader_tf.data.packed_images import PackedImages
from saccader_tf.utils.errors import BadValueError
from saccader_tf.utils.progress_line import ProgressLine

DEFAULT_BUDGET_BYTES = 1 << 30
"""Default memory budget of the decoded cache (1 GiB, train and eval splits together). Kept well
under the 2 GB limit of a serialised TensorFlow graph, which multi-worker input sharding needs."""
CACHE_MODES = ("auto", "memory", "stream")
DECODE_THREADS = 4
_CHUNK = 512  # images per progress-bar update


class DecodedCache:
    """Decoded images of a listing, in listing order (use `build`).

    Args:
        images: `PackedImages` of the `N` decoded images.
        labels: int32 numpy array `[N]` (a substitute's label where a file was replaced).
    """

    def __init__(self, images, labels):
        self._images = images
        self._labels = tf.constant(np.asarray(labels, np.int32))

    @classmethod
    def build(cls, files, description="images", threads=DECODE_THREADS):
        """Decodes every file of `files` (an `ImageFiles`) once, on `threads` threads, with a
        progress bar; an unreadable file's slot gets the image `files.substitute` names.

        Raises:
            ValueError: `Cannot read image file <path>: ...` for a file that cannot be decoded
                (without `skip_bad_files`, or with every substitute unreadable too). With
                `files.drops_bad_files` such files are left out instead.
        """
        n = len(files)
        print(
            f"Decoding {n} {description} into memory once (--cache=stream streams them instead)",
            flush=True,
        )
        bar = ProgressLine(n, "decoding")  # no terminal escape codes in log files
        decoded = [None] * n
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for start in range(0, n, _CHUNK):
                indices = range(start, min(start + _CHUNK, n))
                for index, image in zip(indices, pool.map(files.decode_eagerly, indices)):
                    decoded[index] = image
                bar.show(indices[-1] + 1, final=indices[-1] + 1 == n)
        used = [files.substitute(slot, lambda i: decoded[i] is not None) for slot in range(n)]
        for slot, index in enumerate(used):
            if index < 0 and not files.drops_bad_files:
                raise BadValueError(files.describe_failure(slot))
            if index != slot:
                files.report_substitute(slot, index)
        used = [index for index in used if index >= 0]
        return cls(PackedImages([decoded[index] for index in used]), files.labels[np.array(used)])

    def __len__(self):
        return len(self._images)

    def examples(self, indices):
        """`tf.data.Dataset` of `(image uint8 [H, W, C], label int32)` for listing entries
        `indices`."""

        def read(i):
            return self._images.read(i), self._labels[i]

        indices = tf.constant(np.asarray(indices, np.int64))
        return tf.data.Dataset.from_tensor_slices(indices).map(
            read, num_parallel_calls=tf.data.AUTOTUNE
        )


def should_cache(mode, estimated_bytes, budget_bytes=DEFAULT_BUDGET_BYTES):
    """Whether to decode once into memory.

    Args:
        mode: `"memory"` (always), `"stream"` (never) or `"auto"` (when the estimate fits).
        estimated_bytes: estimated size of the decoded images (`None` = unknown: stream).
        budget_bytes: the memory budget of `"auto"`.

    Returns:
        bool.
    """
    if mode not in CACHE_MODES:
        raise BadValueError(f"`cache` must be one of {CACHE_MODES}. Received: cache={mode!r}")
    if mode != "auto":
        return mode == "memory"
    return estimated_bytes is not None and estimated_bytes <= budget_bytes
