"""Decoding the image files of a listing by *slot*, naming files that fail and keeping epochs full.

`ImageFiles(paths, labels)` gives `examples(indices)`: the decoded `(image, label)` of listing
entries `indices`, in order. Each entry ("slot") is decoded in its own small dataset,
`from_tensors(path).map(decode).ignore_errors()`, followed by a placeholder and `take(1)`, so a file
that fails yields the placeholder instead of stopping the pipeline, and the slots are interleaved
in order (`deterministic=True`). TensorFlow's decoder is tried first; when it fails (e.g. 1-bit BMP
files) Pillow is tried on that file only. Then, for a slot whose file cannot be read:

- `skip_bad_files=False`: the pipeline stops with an `InvalidArgumentError` whose message contains
  `Cannot read image file <path>`.
- `skip_bad_files=True`: the slot is filled by the next readable file of the listing (cyclically,
  at most `MAX_SUBSTITUTES` files on), with that file's label, and a warning names the skipped file.
  The listing is sorted by class, so the substitute is nearly always of the same class. A slot's
  content is a function of the slot alone, so an epoch keeps its stated `floor(files / batch)`
  full batches, and a run resumed in the middle of an epoch (which skips slots before decoding)
  sees exactly the batches an uninterrupted run sees.

File names are handled as bytes (`os.fsencode`), so names that are not valid UTF-8 still open and
are named in messages (with `\\xNN` escapes, `display_path`).
"""

import os

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

from saccader_tf.data.image_file_check import display_path
from saccader_tf.utils.errors import BadValueError

MAX_SUBSTITUTES = 16
"""How many following files are tried for a slot whose file cannot be read (`skip_bad_files`)."""
_CYCLE_LENGTH = 16
_skipped_while_decoding = set()  # files skipped in this process, for the running count


def decode_image_file(path, channels):
    """Reads and decodes one image file (JPEG, PNG, BMP or the first frame of a GIF) with
    TensorFlow.

    Args:
        path: string scalar tensor.
        channels: 1 or 3. Grayscale, palette and RGBA images are converted (alpha dropped).

    Returns:
        uint8 tensor `[H, W, channels]`.
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return _to_channels(image, channels)


def _to_channels(image, channels):
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    return tf.ensure_shape(image, [None, None, channels])


def pillow_rgb(path):
    """Pillow's decoding of `path` (bytes, str or a string scalar tensor) as uint8 RGB
    `[H, W, 3]`, or `None` when Pillow cannot read it either: the fall-back for formats TensorFlow
    cannot decode, such as 1-bit BMP. One definition serves the streamed pipeline and the
    decode-once cache, so both accept and refuse the same files."""
    try:
        with Image.open(os.fsdecode(path.numpy() if hasattr(path, "numpy") else path)) as image:
            return np.asarray(image.convert("RGB"), np.uint8)
    except Exception:  # noqa: BLE001 - any failure (OSError, struct.error, ...) means "unreadable"
        return None


def decode_with_fallback(path, channels):
    """One-element dataset `(image uint8 [H, W, channels],)` of `path`, or an empty dataset when
    neither TensorFlow nor Pillow can decode it."""
    with_tf = (
        tf.data.Dataset.from_tensors(path)
        .map(lambda p: decode_image_file(p, channels))
        .ignore_errors()
    )

    def pillow(p):
        image = tf.py_function(_pillow_rgb_or_empty, [p], tf.uint8)
        return _to_channels(tf.ensure_shape(image, [None, None, 3]), channels)

    # Pillow's failure is an empty image, not an exception: an exception raised inside a
    # `py_function` would print its traceback to stderr even though the error is handled.
    with_pillow = (
        tf.data.Dataset.from_tensors(path).map(pillow).filter(lambda image: tf.size(image) > 0)
    )
    return with_tf.concatenate(with_pillow).take(1)


def _pillow_rgb_or_empty(path):
    rgb = pillow_rgb(path)
    return np.zeros([0, 0, 3], np.uint8) if rgb is None else rgb


class ImageFiles:
    """The files of a listing, decoded on demand by slot (see the module docstring).

    Args:
        paths: sequence of `N` file paths (`str` or `bytes`).
        labels: sequence of `N` int labels.
        channels: 1 or 3.
        skip_bad_files: skip unreadable files with a warning instead of stopping.
        fill_bad_slots: with `skip_bad_files`, fill the slot of an unreadable file with the next
            readable one (training: epochs keep their length and stay addressable) instead of
            dropping it (evaluation: no image counted twice).
    """

    def __init__(self, paths, labels, *, channels=3, skip_bad_files=False, fill_bad_slots=True):
        if channels not in (1, 3):
            raise BadValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
        if len(paths) != len(labels) or not len(paths):
            raise BadValueError(
                "`paths` and `labels` must be non-empty and of the same length. "
                f"Received: {len(paths)} paths, {len(labels)} labels"
            )
        self.paths = tuple(os.fsencode(p) for p in paths)
        self.labels = np.asarray(labels, np.int32)
        self.channels = channels
        self.skip_bad_files = skip_bad_files
        self.fill_bad_slots = fill_bad_slots
        self._paths = tf.constant(np.array(self.paths, dtype=object), tf.string)
        self._labels = tf.constant(self.labels)
        # One graph call per file for `decode_eagerly` (eager op-by-op dispatch costs more than
        # decoding a small PNG).
        self._decode_one = tf.function(
            lambda path: decode_image_file(path, channels),
            input_signature=[tf.TensorSpec([], tf.string)],
        )

    def __len__(self):
        return len(self.paths)

    @property
    def _attempts(self):
        return MAX_SUBSTITUTES if self.skip_bad_files and self.fill_bad_slots else 1

    @property
    def drops_bad_files(self):
        """Whether an unreadable file's slot is left out (rather than filled, or an error)."""
        return self.skip_bad_files and not self.fill_bad_slots

    def decode_eagerly(self, index):
        """Listing entry `index` decoded as `examples` would (TensorFlow, then Pillow): a uint8
        numpy array `[H, W, C]`, or `None` when neither can read it. Runs eagerly, outside tf.data
        (the decode-once cache calls it from several threads)."""
        path = self.paths[index]
        try:
            image = self._decode_one(tf.constant(path))
        except (tf.errors.OpError, ValueError):
            rgb = pillow_rgb(path)
            if rgb is None:
                return None
            image = _to_channels(tf.constant(rgb), self.channels)
        return image.numpy()

    def substitute(self, slot, readable):
        """The listing index whose image fills `slot`, given `readable(index) -> bool`: the slot
        itself, else (with `skip_bad_files` and `fill_bad_slots`) the next readable one at most
        `MAX_SUBSTITUTES - 1` files on, else `-1`."""
        attempts = min(self._attempts, len(self.paths))
        for k in range(attempts):
            index = (slot + k) % len(self.paths)
            if readable(index):
                return index
        return -1

    def raw_examples(self, indices):
        """`(slot, used, image)` per index: `used` is the listing index decoded into the slot (the
        slot itself, a substitute, or `-1` when nothing readable was found); `image` uint8
        `[H, W, C]` (`[1, 1, C]` zeros when `used == -1`)."""
        indices = np.asarray(indices, np.int64)
        return tf.data.Dataset.from_tensor_slices(indices).interleave(
            self._slot,
            cycle_length=_CYCLE_LENGTH,
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    def examples(self, indices):
        """`tf.data.Dataset` of `(image uint8 [H, W, C], label int32)` for listing entries
        `indices`."""
        examples = self.raw_examples(indices)
        if self.drops_bad_files:
            examples = examples.filter(self._keep)
        return examples.map(self._finish, num_parallel_calls=tf.data.AUTOTUNE)

    def describe_failure(self, slot):
        """The error message for a slot whose file (and substitutes) could not be read."""
        path = display_path(self.paths[slot])
        if self._attempts > 1:
            return (
                f"Cannot read image file {path} nor the {MAX_SUBSTITUTES - 1} files after it in "
                "the listing: TensorFlow and Pillow cannot decode them. "
                "Remove the unreadable files."
            )
        return (
            f"Cannot read image file {path}: TensorFlow and Pillow cannot decode it (corrupt or "
            "truncated). Remove it, or pass --skip_bad_files (skip_bad_files=True)."
        )

    def report_substitutes(self, slot, used):
        """Logs a warning for every file skipped between `slot` and its substitute `used`."""
        n = len(self.paths)
        end = slot + 1 if used < 0 else slot + (used - slot) % n
        for index in range(slot, end):
            path = display_path(self.paths[index % n])
            if path in _skipped_while_decoding:
                continue
            _skipped_while_decoding.add(path)
            filled = (
                f"its slot is filled by {display_path(self.paths[used])}"
                if used >= 0
                else "left out"
            )
            logging.warning(
                "Skipping image file %s: TensorFlow and Pillow cannot decode it; %s "
                "(%d file(s) skipped while decoding in this process).",
                path,
                filled,
                len(_skipped_while_decoding),
            )

    def _slot(self, slot):
        n = len(self.paths)
        first = decode_with_fallback(self._paths[slot], self.channels).map(
            lambda image: (slot, image)
        )
        # Only iterated when neither TensorFlow nor Pillow can read the slot's file.
        substitutes = tf.data.Dataset.range(1, min(self._attempts, n)).map(lambda k: (slot + k) % n)
        rest = substitutes.flat_map(
            lambda j: decode_with_fallback(self._paths[j], self.channels).map(
                lambda image: (j, image)
            )
        )
        nothing = tf.data.Dataset.from_tensors(
            (tf.constant(-1, tf.int64), tf.zeros([1, 1, self.channels], tf.uint8))
        )
        return (
            first.concatenate(rest)
            .concatenate(nothing)
            .take(1)
            .map(lambda used, image: (slot, used, image))
        )

    def _finish(self, slot, used, image):
        def fail():  # only on the error path: the message names the file
            message = tf.py_function(lambda s: self.describe_failure(int(s)), [slot], tf.string)
            with tf.control_dependencies([tf.debugging.Assert(False, [message], summarize=1)]):
                return tf.constant(False)

        def substituted():
            return tf.cond(
                tf.equal(used, slot), lambda: tf.constant(True), lambda: self._report(slot, used)
            )

        checked = tf.cond(used >= 0, substituted, fail)
        with tf.control_dependencies([checked]):
            return tf.identity(image), tf.gather(self._labels, tf.maximum(used, 0))

    def _keep(self, slot, used, image):
        def drop():
            with tf.control_dependencies([self._report(slot, used)]):
                return tf.constant(False)

        return tf.cond(used >= 0, lambda: tf.constant(True), drop)

    def _report(self, slot, used):
        done = tf.py_function(
            lambda s, u: self.report_substitutes(int(s), int(u)) or True, [slot, used], tf.bool
        )
        return tf.ensure_shape(done, [])
