"""Cheap up-front checks of image files: extension, size and format signature ("magic bytes").

Reading the first bytes of a file costs one small read, so every file of an image folder can be
checked when the folder is listed (full decoding would be far too slow for ImageNet). The check
catches empty files, truncated-to-nothing downloads and non-image files named like images; files
with a valid signature but a corrupt body are caught later, when they are decoded.
"""

import os

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
"""File extensions read as images (case-insensitive); other files are ignored."""

_SIGNATURES = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "BMP": (b"BM",),
}
_HEADER_BYTES = 8


def has_image_extension(filename):
    """Whether `filename` ends with one of `IMAGE_EXTENSIONS` (case-insensitive)."""
    return filename.lower().endswith(IMAGE_EXTENSIONS)


def image_file_problem(path):
    """Why `path` cannot be an image TensorFlow decodes, or `None` when its signature looks right.

    The format is recognised from the content, not the extension (`tf.io.decode_image` does the
    same), so a PNG named `.jpg` passes.

    Args:
        path: file path.

    Returns:
        `None`, or a short description such as `"the file is empty (0 bytes)"`.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except OSError as error:
        return f"it cannot be opened ({error.strerror or error})"
    if not header:
        return "the file is empty (0 bytes)"
    for signatures in _SIGNATURES.values():
        if header.startswith(signatures):
            return None
    return (
        f"its first bytes {header!r} are not a {'/'.join(_SIGNATURES)} signature "
        "(not an image, or a corrupt download)"
    )


def display_path(path):
    """`path` (str or bytes) printable in any terminal: bytes that are not UTF-8 (a latin-1 file
    name, say) are shown as `\\xNN` escapes instead of making printing fail."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")
