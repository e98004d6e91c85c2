"""Cheap up-front checks of image files: extension, size and format signature ("magic bytes").

Reading the first bytes of a file costs one small read, so every file of an image folder can be
checked when the folder is listed (full decoding would be far too slow for ImageNet). The check
catches empty files, truncated-to-nothing downloads and non-image files named like images; files
with a valid signature but a corrupt body are caught later, when they are decoded.

The same bytes say which decoder a file needs: TensorFlow decodes JPEG, PNG, GIF, WebP and 24/32-bit
uncompressed BMP; TIFF and other BMP variants (1-, 4-, 8- or 16-bit, run-length compressed) are
decoded with Pillow (`needs_pillow`). TensorFlow reads an 8-bit BMP's palette indices as gray
levels, so such files are not left to it.
"""

import dataclasses
import os
import struct
from typing import Optional

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
"""File extensions read as images (case-insensitive); other files are ignored."""
PILLOW_EXTENSIONS = (".tif", ".tiff")
"""Extensions decoded with Pillow when files are not checked (`check_files=False`)."""

_SIGNATURES = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "BMP": (b"BM",),
    "WebP": (b"RIFF",),  # and "WEBP" at bytes 8-11
    "TIFF": (b"II*\x00", b"MM\x00*"),
}
_HEADER_BYTES = 34  # enough for a BMP's bits per pixel and compression fields
_TF_BMP_BITS = (24, 32)
_TF_BMP_COMPRESSION = (0, 3)  # BI_RGB, BI_BITFIELDS


@dataclasses.dataclass(frozen=True)
class FileCheck:
    """What the first bytes of a file say.

    Attributes:
        problem: why it cannot be an image (`None` when its signature looks right).
        needs_pillow: whether TensorFlow cannot decode its format, so Pillow must.
    """

    problem: Optional[str]
    needs_pillow: bool = False


def has_image_extension(filename):
    """Whether `filename` ends with one of `IMAGE_EXTENSIONS` (case-insensitive)."""
    return filename.lower().endswith(IMAGE_EXTENSIONS)


def needs_pillow_by_extension(filename):
    """Whether `filename` has a Pillow-only extension (`PILLOW_EXTENSIONS`)."""
    return os.fsdecode(filename).lower().endswith(PILLOW_EXTENSIONS)


def check_image_file(path):
    """Reads the first bytes of `path` and returns a `FileCheck`.

    The format is recognised from the content, not the extension (`tf.io.decode_image` does the
    same), so a PNG named `.jpg` passes. Only a regular file is opened (a named pipe or device
    would block the read).
    """
    if not os.path.isfile(path):
        return FileCheck("it is not a regular file (a named pipe, socket or device?)")
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except OSError as error:
        return FileCheck(f"it cannot be opened ({error.strerror or error})")
    if not header:
        return FileCheck("the file is empty (0 bytes)")
    kind = _format(header)
    if kind is None:
        return FileCheck(
            f"its first bytes {header[:8]!r} are not a {'/'.join(_SIGNATURES)} signature "
            "(not an image, or a corrupt download)"
        )
    return FileCheck(None, needs_pillow=kind == "TIFF" or (kind == "BMP" and _odd_bmp(header)))


def image_file_problem(path):
    """Why `path` cannot be an image, or `None` when its signature looks right (see
    `check_image_file`).

    Args:
        path: file path.

    Returns:
        `None`, or a short description such as `"the file is empty (0 bytes)"`.
    """
    return check_image_file(path).problem


def _format(header):
    for kind, signatures in _SIGNATURES.items():
        if header.startswith(signatures) and (kind != "WebP" or header[8:12] == b"WEBP"):
            return kind
    return None


def _odd_bmp(header):
    """Whether a BMP is not a 24/32-bit uncompressed one (which TensorFlow decodes right)."""
    if len(header) < _HEADER_BYTES:
        return True
    (info_size,) = struct.unpack_from("<I", header, 14)
    if info_size < 40:  # the old OS/2 header: 16-bit fields, no compression
        (bits,) = struct.unpack_from("<H", header, 24)
        return bits not in _TF_BMP_BITS
    bits, compression = struct.unpack_from("<HI", header, 28)
    return bits not in _TF_BMP_BITS or compression not in _TF_BMP_COMPRESSION


def display_path(path):
    """`path` (str or bytes) printable in any terminal: bytes that are not UTF-8 (a latin-1 file
    name, say) are shown as `\\xNN` escapes instead of making printing fail."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")
