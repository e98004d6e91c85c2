"""Walking one split of an image folder: class folders, the image files below them, and what is
left out (hidden entries, other files, named pipes and devices) or refused (one file under two
labels).

Everything here looks at names and `stat` results only: no file is opened, so a named pipe (FIFO)
or a device in a class folder cannot block the listing.
"""

import collections
import dataclasses
import os
import stat
import unicodedata
from typing import Dict, List

from absl import logging

from saccader_tf.data.image_file_check import display_path, has_image_extension
from saccader_tf.utils.errors import BadValueError

_NAMED = 3  # how many files a summary line names


def class_folders(split_dir):
    """`{class name: folder name}` of the sub-folders of `split_dir` not starting with `.`; the
    class name is the folder name in Unicode NFC form, so `café` typed on macOS (NFD) and on Linux
    (NFC) is one class.

    Raises:
        ValueError: two folders whose names differ only in Unicode normalisation.
    """
    folders = {}
    for entry in sorted(os.scandir(split_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        name = unicodedata.normalize("NFC", entry.name)
        if name in folders:
            raise BadValueError(
                f"{display_path(split_dir)} has two class folders named {name!r} that differ only "
                f"in Unicode normalisation ({folders[name]!a} and {entry.name!a}): merge them."
            )
        folders[name] = entry.name
    return folders


@dataclasses.dataclass
class LeftOut:
    """Files of one split not listed, by reason (summarised in one line per reason)."""

    not_regular: List[str] = dataclasses.field(default_factory=list)
    other_extension: List[str] = dataclasses.field(default_factory=list)

    def warn(self, split_dir):
        """Logs one line per non-empty reason, counting and naming the first files."""
        where = display_path(split_dir)
        if self.not_regular:
            logging.warning(
                "Skipped %d item(s) of %s that are not regular files (named pipes, sockets, "
                "devices or broken links; never opened): %s.",
                len(self.not_regular),
                where,
                _names(self.not_regular),
            )
        if self.other_extension:
            counts = collections.Counter(
                os.path.splitext(p)[1].lower() or "(none)" for p in self.other_extension
            )
            kinds = ", ".join(f"{count} x {ext}" for ext, count in counts.most_common())
            logging.warning(
                "Ignored %d file(s) of %s that are not images by their extension (%s): %s.",
                len(self.other_extension),
                where,
                kinds,
                _names(self.other_extension),
            )


def _names(paths):
    shown = ", ".join(display_path(p) for p in paths[:_NAMED])
    return shown + (f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else "")


def image_files(class_dir, fenced, left_out):
    """Image files below `class_dir`, sorted, reading each real directory once (`fenced`: real
    paths already read or not to be entered; updated in place). Hidden files and folders (names
    starting with `.`, such as macOS `._*` files) are skipped; other files go to `left_out`."""
    found = []
    for folder, subfolders, filenames in os.walk(class_dir, followlinks=True):
        subfolders[:] = _entered(folder, subfolders, fenced)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            if not has_image_extension(name):
                left_out.other_extension.append(path)
            elif not _is_regular(path):
                left_out.not_regular.append(path)
            else:
                found.append(path)
    return found


def _entered(folder, subfolders, fenced):
    entered = []
    for name in sorted(d for d in subfolders if not d.startswith(".")):
        path = os.path.join(folder, name)
        real = os.path.realpath(path)
        if real in fenced:
            logging.warning(
                "Skipping %s: it leads to %s, a folder that is already read or "
                "belongs to another class (a symbolic-link loop?).",
                display_path(path),
                display_path(real),
            )
            continue
        fenced.add(real)
        entered.append(name)
    return entered


def _is_regular(path):
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # follows links; never opens the file
    except OSError:
        return False


def refuse_duplicates(split_dir, paths, labels, class_names):
    """Raises when two listed paths are the same file (symbolic links to one file, or two class
    folders leading to one folder): its label would be ambiguous, or it would count twice."""
    first: Dict[str, int] = {}
    duplicates = []
    for index, path in enumerate(paths):
        real = os.path.realpath(path)
        if real in first:
            duplicates.append((first[real], index))
        else:
            first[real] = index
    if not duplicates:
        return
    a, b = duplicates[0]
    where = (
        f"both under class {class_names[labels[a]]!r}"
        if labels[a] == labels[b]
        else f"under classes {class_names[labels[a]]!r} and {class_names[labels[b]]!r}"
    )
    raise BadValueError(
        f"{display_path(paths[b])} is the same file as {display_path(paths[a])} ({where}; "
        f"{len(duplicates)} such file(s) in {display_path(split_dir)}, through symbolic links): "
        "each image must appear once, under one class. Remove the link that repeats it."
    )


def warn_loose_files(split_dir):
    """One warning naming the image files directly in `split_dir` (outside any class folder),
    which have no class and are not used."""
    loose = sorted(
        entry.path
        for entry in os.scandir(split_dir)
        if not entry.name.startswith(".") and has_image_extension(entry.name) and not entry.is_dir()
    )
    if loose:
        logging.warning(
            "Ignored %d image file(s) directly in %s, outside any class folder (they have no "
            "label; move them into %s/<class>/): %s.",
            len(loose),
            display_path(split_dir),
            display_path(split_dir),
            _names(loose),
        )
