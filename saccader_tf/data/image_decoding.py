"""Decoding image files in tf.data so that a file that fails to decode is *named*.

TensorFlow ops cannot catch errors, and an error raised by a decode op in `Dataset.map` does not say
which file it came from. So each file is decoded in its own one-element dataset,
`from_tensors(path).map(decode).ignore_errors()`, followed by a placeholder marked "bad" and
`take(1)`: a good file yields its image, a bad one the placeholder. The per-file datasets are
interleaved in order (`deterministic=True`), keeping the path next to the result. Then, for a bad file:

- `skip_bad_files=False`: a `tf.py_function`, run only on this error path, raises
  `ValueError("Cannot read image file <path>: ...")`; tf.data reports it as an `InvalidArgumentError`
  whose message contains that text.
- `skip_bad_files=True`: the same error path logs a warning naming the file, and the example is
  filtered out.

The per-file dataset costs a fraction of a millisecond per image, small next to decoding a photo.
"""

from absl import logging
import tensorflow as tf

_CYCLE_LENGTH = 16
_skipped_while_decoding = []  # paths skipped by `skip_bad_files=True` pipelines, for the count


def decode_image_file(path, channels):
    """Reads and decodes one image file (JPEG, PNG, BMP or the first frame of a GIF).

    Args:
        path: string scalar tensor.
        channels: 1 or 3. Grayscale, palette and RGBA images are converted (alpha dropped).

    Returns:
        uint8 tensor `[H, W, channels]`.
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    return tf.ensure_shape(image, [None, None, channels])


def decode_image_files(dataset, *, channels=3, skip_bad_files=False):
    """Maps `(path, label)` to `(image uint8 [H, W, C], label)`, naming files that fail to decode.

    Args:
        dataset: `tf.data.Dataset` of `(path string scalar, label)`.
        channels: 1 or 3.
        skip_bad_files: drop undecodable files with a warning instead of raising.

    Returns:
        `tf.data.Dataset` of `(image uint8 [H, W, channels], label)`, in input order.
    """
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")

    def try_decode(path, label):
        decoded = tf.data.Dataset.from_tensors((path, label)).map(
            lambda p, l: (p, decode_image_file(p, channels), l, True)).ignore_errors()
        placeholder = tf.data.Dataset.from_tensors(
            (path, tf.zeros([1, 1, channels], tf.uint8), label, False))
        return decoded.concatenate(placeholder).take(1)

    dataset = dataset.interleave(
        try_decode, cycle_length=_CYCLE_LENGTH, block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if skip_bad_files:
        return dataset.filter(_warn_if_bad).map(lambda path, image, label, ok: (image, label))
    return dataset.map(_raise_if_bad)


def _report_bad_file(path, skip):
    path = path.numpy().decode("utf-8", errors="replace")
    if skip.numpy():
        _skipped_while_decoding.append(path)
        logging.warning("Skipping image file %s: TensorFlow cannot decode it (%d file(s) skipped while "
                        "decoding in this process).", path, len(_skipped_while_decoding))
        return
    raise ValueError(
        f"Cannot read image file {path}: TensorFlow cannot decode it (corrupt or truncated). "
        "Remove it or pass skip_bad_files=True."
    )


def _on_error_path(path, ok, skip):
    """`ok`, after calling `_report_bad_file` when `ok` is False."""

    def report():
        with tf.control_dependencies([tf.py_function(_report_bad_file, [path, skip], [])]):
            return tf.identity(ok)

    return tf.cond(ok, lambda: ok, report)


def _warn_if_bad(path, image, label, ok):
    return _on_error_path(path, ok, tf.constant(True))


def _raise_if_bad(path, image, label, ok):
    with tf.control_dependencies([_on_error_path(path, ok, tf.constant(False))]):
        return tf.identity(image), label
