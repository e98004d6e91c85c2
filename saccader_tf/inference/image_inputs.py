"""What `predict` is given, as the model's uint8 images: arrays of any size, files, folders, globs.

`image_paths(spec)` lists the image files a path names (one file, a folder searched recursively by
extension, or a glob pattern), sorted; `FileImages` decodes them one by one as image folders do
(`saccader_tf.data.image_decoding`: TensorFlow first, Pillow for what it cannot read), naming the
files that neither can read; `as_channels` gives an array the model's channel count (grey repeated
to RGB, RGB to grey by `tf.image.rgb_to_grayscale` as image folders do, alpha dropped).
"""

import glob
import os

import numpy as np
import tensorflow as tf

from saccader_tf.data.image_decoding import ImageFiles
from saccader_tf.data.image_file_check import display_path, has_image_extension
from saccader_tf.utils.errors import BadValueError, MissingFileError, UserError

IMAGE_FORMATS = "PNG, JPEG, BMP or GIF"


class NoImagesError(MissingFileError):
    """A path, folder or glob that names no image file."""


class UnreadableImageError(UserError, ValueError):
    """An image file that neither TensorFlow nor Pillow can decode."""


def image_paths(spec):
    """The image files `spec` names, sorted: the file itself, every file with an image extension
    below a folder (recursively), or the files a glob pattern matches.

    Args:
        spec: a path (`str` or `os.PathLike`) to a file or a folder, or a glob pattern
            (`*`, `?`, `[...]`, `**` for any depth).

    Raises:
        NoImagesError: nothing exists there, or the folder or pattern holds no image file.
    """
    spec = os.fspath(spec)
    if os.path.isfile(spec):
        return [spec]
    if os.path.isdir(spec):
        found = [
            os.path.join(root, name)
            for root, _, names in os.walk(spec)
            for name in names
            if has_image_extension(name)
        ]
        if not found:
            raise NoImagesError(
                f"The folder {spec} holds no {IMAGE_FORMATS} file (extensions .png, .jpg, .jpeg, "
                f".bmp, .gif, searched in its subfolders too): add images or name another folder. "
                f"Received: images={spec}"
            )
        return sorted(found)
    if glob.has_magic(spec):
        found = [p for p in glob.glob(spec, recursive=True) if os.path.isfile(p)]
        found = [p for p in found if has_image_extension(p)]
        if not found:
            raise NoImagesError(
                f"The pattern {spec} matches no {IMAGE_FORMATS} file: check the pattern (quote it "
                f"in the shell so that the program expands it). Received: images={spec}"
            )
        return sorted(found)
    raise NoImagesError(
        f"No such file or folder: {spec}. Name an image file, a folder of images or a glob "
        f"pattern. Received: images={spec}"
    )


def as_channels(image, channels):
    """`image` as a uint8 `[H, W, channels]` array.

    Args:
        image: an array `[H, W]`, `[H, W, 1]`, `[H, W, 3]` or `[H, W, 4]` (alpha dropped), uint8
            or with values in `[0, 255]` (rounded and clipped to uint8).
        channels: 1 or 3.

    Raises:
        BadValueError: another shape, an empty side, or non-finite values.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise BadValueError(
            "An image must be an array [H, W] or [H, W, C] with C = 1, 3 or 4 and H, W >= 1. "
            f"Received: shape={array.shape}"
        )
    if array.dtype != np.uint8:
        if not np.all(np.isfinite(array)):
            raise BadValueError("An image holds NaN or Inf: pass pixel values in [0, 255].")
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    array = array[..., :3]
    if array.shape[-1] == channels:
        return array
    if channels == 3:
        return np.repeat(array, 3, axis=-1)
    return tf.image.rgb_to_grayscale(array).numpy()  # as image folders convert RGB files


class FileImages:
    """The image files of `paths`, decoded on demand as the model's uint8 images.

    Args:
        paths: sequence of file paths.
        channels: 1 or 3 (the model's).
    """

    def __init__(self, paths, channels):
        self.paths = list(paths)
        self._files = ImageFiles(self.paths, [0] * len(self.paths), channels=channels)

    def __len__(self):
        return len(self.paths)

    def decode(self, index):
        """File `index` as uint8 `[H, W, channels]`, or `None` when it cannot be decoded."""
        return self._files.decode_eagerly(index)

    def unreadable(self, index):
        """The error for file `index`, which cannot be decoded."""
        return UnreadableImageError(
            f"Cannot read image file {display_path(self.paths[index])}: TensorFlow and Pillow "
            f"cannot decode it (corrupt, truncated or not a {IMAGE_FORMATS} file). Remove it, or "
            "pass skip_bad_files=True to leave it out."
        )
