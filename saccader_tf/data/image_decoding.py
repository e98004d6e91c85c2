"""Decoding the image files of a listing by *slot*, naming files that fail and keeping epochs full.

`ImageFiles(paths, labels)` gives `examples(indices)`: the decoded `(image, label)` of listing
entries `indices`, in order. Each entry ("slot") is decoded in its own small dataset,
`from_tensors(path).map(decode).ignore_errors()`, followed by a placeholder and `take(1)`, so a file
that fails yields the placeholder instead of stopping the pipeline, and the slots are interleaved
in order (`deterministic=True`). Then, for a slot whose file cannot be read:

- `skip_bad_files=False`: the pipeline stops with an `InvalidArgumentError` whose message contains
  `Cannot read image file <path>`.
- `skip_bad_files=True`: the slot is filled by the next readable file of the listing (cyclically,
  at most `MAX_SUBSTITUTES` files on), with that file's label, and a warning names the skipped file
  (`saccader_tf.data.skipped_files`). The listing is sorted by class, so the substitute is nearly
  always of the same class. A slot's content is a function of the slot alone, so an epoch keeps its
  stated `floor(files / batch)` full batches, and a run resumed in the middle of an epoch (which
  skips slots before decoding) sees exactly the batches an uninterrupted run sees.

The streamed pipeline runs TensorFlow ops only, never Python: a `tf.py_function` still running in
a tf.data thread when an error stops the pipeline can block the process at exit forever. So the
formats TensorFlow cannot decode (TIFF, BMP other than 24/32-bit uncompressed; see
`saccader_tf.data.image_file_check`) are decoded with Pillow once, when the `ImageFiles` is made,
and kept in memory; every other file is decoded by TensorFlow alone, in the pipeline and in the
decode-once cache alike, so both accept and refuse the same files. EXIF orientation tags are not
applied (as `tf.io.decode_jpeg` does not apply them; see docs/own_data.md).

File names are handled as bytes (`os.fsencode`), so names that are not valid UTF-8 still open and
are named in messages (with `\\xNN` escapes, `display_path`).
"""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.image_file_check import display_path, needs_pillow_by_extension
from saccader_tf.data.packed_images import PackedImages
from saccader_tf.data.skipped_files import note_skipped, note_skipped_in_graph
from saccader_tf.utils.errors import BadValueError

MAX_SUBSTITUTES = 256
"""How many following files are tried for a slot whose file cannot be read (`skip_bad_files`)."""
_CYCLE_LENGTH = 16
_BY_TENSORFLOW, _UNREADABLE = -1, -2  # routes; a route >= 0 indexes the Pillow-decoded images


def decode_image_file(path, channels):
    """Reads and decodes one image file (JPEG, PNG, WebP, 24/32-bit BMP or the first frame of a
    GIF) with TensorFlow.

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
    """Pillow's decoding of `path` (bytes or str) as uint8 RGB `[H, W, 3]` (the first frame of a
    multi-page file), or `None` when Pillow cannot read it."""
    try:
        with Image.open(os.fsdecode(path)) as image:
            return np.asarray(image.convert("RGB"), np.uint8)
    except Exception:  # noqa: BLE001 - any failure (OSError, struct.error, ...) means "unreadable"
        return None


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
        pillow: indices of the files TensorFlow cannot decode (decoded with Pillow now); `None` =
            the files with a Pillow-only extension (`.tif`, `.tiff`).
    """

    def __init__(
        self, paths, labels, *, channels=3, skip_bad_files=False, fill_bad_slots=True, pillow=None
    ):
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
        names = [display_path(p) for p in self.paths]
        same = all(name.encode() == path for name, path in zip(names, self.paths))
        self._names = self._paths if same else tf.constant(names, tf.string)
        self._labels = tf.constant(self.labels)
        if pillow is None:
            pillow = [i for i, p in enumerate(self.paths) if needs_pillow_by_extension(p)]
        self._routes, self._pillow_images = self._decode_with_pillow(sorted(pillow))
        self._route_table = tf.constant(self._routes)
        # One graph call per file for `decode_eagerly` (eager op-by-op dispatch costs more than
        # decoding a small PNG). Traced once, here: the decode-once cache calls it from several
        # threads, whose first calls would otherwise trace concurrently and make TensorFlow warn
        # about retracing.
        self._decode_one = tf.function(
            lambda path: decode_image_file(path, channels), autograph=False
        ).get_concrete_function(tf.TensorSpec([], tf.string))

    def _decode_with_pillow(self, indices):
        """`(routes int64 [N], PackedImages)`: the files `indices` decoded with Pillow, now."""
        routes = np.full(len(self.paths), _BY_TENSORFLOW, np.int64)
        images = []
        if indices:
            print(
                f"Decoding {len(indices)} image file(s) that TensorFlow cannot decode (TIFF, "
                "1/4/8/16-bit or compressed BMP) with Pillow, once, into memory",
                flush=True,
            )
        for index in indices:
            rgb = pillow_rgb(self.paths[index])
            if rgb is None:
                routes[index] = _UNREADABLE
                continue
            routes[index] = len(images)
            images.append(_to_channels(tf.constant(rgb), self.channels).numpy())
        return routes, PackedImages(images)

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
        """Listing entry `index` decoded as `examples` would: a uint8 numpy array `[H, W, C]`, or
        `None` when it cannot be decoded. Runs eagerly, outside tf.data (the decode-once cache
        calls it from several threads)."""
        route = int(self._routes[index])
        if route == _UNREADABLE:
            return None
        if route >= 0:
            return self._pillow_images.numpy(route)
        try:
            return self._decode_one(tf.constant(self.paths[index])).numpy()
        except (tf.errors.OpError, ValueError):
            return None

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

    def _failure_words(self):
        if self._attempts > 1:
            return (
                "Cannot read image file ",
                f" nor the {MAX_SUBSTITUTES - 1} files after it in the listing: none of them can "
                "be decoded (corrupt or truncated). Remove the unreadable files.",
            )
        return (
            "Cannot read image file ",
            ": it cannot be decoded (corrupt or truncated). Remove it, or pass --skip_bad_files "
            "(skip_bad_files=True).",
        )

    def describe_failure(self, slot):
        """The error message for a slot whose file (and substitutes) could not be read."""
        before, after = self._failure_words()
        return before + display_path(self.paths[slot]) + after

    def report_substitute(self, slot, used):
        """Notes (once per process) that the file of `slot` was skipped, filled by `used`
        (`-1`: left out)."""
        filled_by = display_path(self.paths[used]) if used >= 0 else None
        note_skipped(display_path(self.paths[slot]), filled_by)

    def _decoded(self, index):
        """Dataset of the one decoded image of listing entry `index` (empty when unreadable)."""
        route = self._route_table[index]
        start = tf.data.Dataset.from_tensors(index)
        with_tf = (
            start.filter(lambda i: tf.equal(route, _BY_TENSORFLOW))
            .map(lambda i: decode_image_file(self._paths[i], self.channels))
            .ignore_errors()
        )
        if not len(self._pillow_images):
            return with_tf
        with_pillow = start.filter(lambda i: route >= 0).map(
            lambda i: self._pillow_images.read(route)
        )
        return with_tf.concatenate(with_pillow)

    def _slot(self, slot):
        n = len(self.paths)
        first = self._decoded(slot).map(lambda image: (slot, image))
        # Only iterated when the slot's own file cannot be read.
        substitutes = tf.data.Dataset.range(1, min(self._attempts, n)).map(lambda k: (slot + k) % n)
        rest = substitutes.flat_map(lambda j: self._decoded(j).map(lambda image: (j, image)))
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
            before, after = self._failure_words()
            message = tf.strings.join([before, self._names[slot], after])
            with tf.control_dependencies([tf.debugging.Assert(False, [message], summarize=1)]):
                return tf.constant(False)

        def substituted():
            return tf.cond(
                tf.equal(used, slot),
                lambda: tf.constant(True),
                lambda: note_skipped_in_graph(self._names[slot], self._names[used]),
            )

        checked = tf.cond(used >= 0, substituted, fail)
        with tf.control_dependencies([checked]):
            return tf.identity(image), tf.gather(self._labels, tf.maximum(used, 0))

    def _keep(self, slot, used, image):
        def drop():
            with tf.control_dependencies([note_skipped_in_graph(self._names[slot], "")]):
                return tf.constant(False)

        return tf.cond(used >= 0, lambda: tf.constant(True), drop)
