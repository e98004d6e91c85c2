"""Listing of an image folder `<root>/<split>/<class>/<images>` into paths and labels."""

import collections
import dataclasses
import os
from typing import Tuple

from absl import logging

from saccader_tf.data.image_file_check import (
    IMAGE_EXTENSIONS,
    display_path,
    has_image_extension,
    image_file_problem,
)
from saccader_tf.utils.errors import BadValueError, MissingFileError

TRAIN_SPLIT = "train"
EVAL_SPLITS = ("val", "validation", "test")


@dataclasses.dataclass(frozen=True)
class ImageFolderListing:
    """The files of an image folder.

    Attributes:
        class_names: sorted class folder names; a label is an index into it.
        train_paths: training image paths, sorted by class then path.
        train_labels: int label of each training path.
        eval_paths: evaluation image paths, sorted by class then path.
        eval_labels: int label of each evaluation path.
        eval_split: the evaluation folder used (`"val"`, `"validation"` or `"test"`).
    """

    class_names: Tuple[str, ...]
    train_paths: Tuple[str, ...]
    train_labels: Tuple[int, ...]
    eval_paths: Tuple[str, ...]
    eval_labels: Tuple[int, ...]
    eval_split: str


def list_image_folder(root, *, check_files=True, skip_bad_files=False):
    """Lists `<root>/train/<class>/...` and `<root>/val/<class>/...` (or `validation`/`test`).

    Class folders are the sub-folders of `train` not starting with `.`, sorted; images are found
    recursively below each class folder by extension (`IMAGE_EXTENSIONS`, case-insensitive).
    Symbolic links are followed, but every real directory is read at most once per split, and
    never from inside another class: a link back to the folder itself, to a parent, or to another
    class's folder is skipped with a warning (so a loop cannot repeat files, give them the wrong
    label, or make the listing run forever); links to folders outside the tree are read normally.

    Args:
        root: folder holding the split folders.
        check_files: check every file's size and signature now (`image_file_problem`).
        skip_bad_files: when a check fails, log a warning and leave the file out instead of raising.

    Returns:
        An `ImageFolderListing`.

    Raises:
        FileNotFoundError: `root`, `train` or every evaluation folder is missing.
        ValueError: no class folder, a training class without images, evaluation classes that differ
            from the training classes, or (unless `skip_bad_files`) a file that is not an image.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise MissingFileError(
            f"Image folder {root} does not exist or is not a directory. Pass the folder that holds "
            f"train/<class>/ and val/<class>/. Received: root={root!r}"
        )
    train_dir = os.path.join(root, TRAIN_SPLIT)
    if not os.path.isdir(train_dir):
        raise MissingFileError(
            f"Image folder {root} has no {TRAIN_SPLIT}/ sub-folder; expected "
            f"{root}/{TRAIN_SPLIT}/<class>/<image>. Received: root={root!r}"
        )
    eval_split = _find_eval_split(root)
    class_names = _class_folders(train_dir)
    if not class_names:
        raise BadValueError(
            f"{train_dir} has no class sub-folders; put each class's images in "
            f"{train_dir}/<class>/. Received: root={root!r}"
        )
    eval_classes = _class_folders(os.path.join(root, eval_split))
    if eval_classes != class_names:
        missing = sorted(set(class_names) - set(eval_classes))
        extra = sorted(set(eval_classes) - set(class_names))
        raise BadValueError(
            f"The classes of {root}/{eval_split} differ from those of {train_dir}: missing "
            f"{missing}, unexpected {extra}. Give both splits the same class folders (an empty "
            f"folder is allowed in {eval_split}). Received: root={root!r}"
        )
    files = dict(check_files=check_files, skip_bad_files=skip_bad_files)
    train_paths, train_labels = _split_files(train_dir, class_names, require_images=True, **files)
    eval_dir = os.path.join(root, eval_split)
    eval_paths, eval_labels = _split_files(eval_dir, class_names, require_images=False, **files)
    if not eval_paths:
        raise BadValueError(
            f"{eval_dir} holds no readable images (its class folders are empty), so nothing could "
            f"be evaluated: put held-out images in {eval_dir}/<class>/. Received: root={root!r}"
        )
    return ImageFolderListing(
        class_names, train_paths, train_labels, eval_paths, eval_labels, eval_split
    )


def _find_eval_split(root):
    for split in EVAL_SPLITS:
        if os.path.isdir(os.path.join(root, split)):
            return split
    raise MissingFileError(
        f"Image folder {root} has no evaluation sub-folder: expected one of "
        f"{[split + '/' for split in EVAL_SPLITS]} next to {TRAIN_SPLIT}/. Received: root={root!r}"
    )


def _class_folders(split_dir):
    return tuple(
        sorted(
            entry.name
            for entry in os.scandir(split_dir)
            if entry.is_dir() and not entry.name.startswith(".")
        )
    )


def _split_files(split_dir, class_names, *, require_images, check_files, skip_bad_files):
    paths, labels, skipped = [], [], []
    # Directories no class walk may enter: the tree's own folders (a link to one is a loop or
    # would relabel another class's images). Each class walk adds what it reads.
    class_dirs = [os.path.join(split_dir, name) for name in class_names]
    root = os.path.dirname(split_dir)
    splits = [entry.path for entry in os.scandir(root) if entry.is_dir()]  # train/, val/, ...
    fenced = {os.path.realpath(d) for d in [root, *splits, *class_dirs]}
    for label, class_dir in enumerate(class_dirs):
        class_paths = _image_files(class_dir, fenced)
        if check_files:
            class_paths, class_skipped = _checked(class_paths, skip_bad_files)
            skipped.extend(class_skipped)
        if require_images and not class_paths:
            raise BadValueError(
                f"Class folder {display_path(class_dir)} has no readable images "
                f"(extensions {IMAGE_EXTENSIONS}). Add images or remove the folder."
            )
        paths.extend(class_paths)
        labels.extend([label] * len(class_paths))
    if skipped:
        _warn_skipped(split_dir, skipped, kept=len(paths))
    return tuple(paths), tuple(labels)


def _warn_skipped(split_dir, skipped, kept):
    """One counted summary of the files left out of a split, after the per-file warnings."""
    counts = collections.Counter(problem.split(" (")[0] for _, problem in skipped)
    reasons = ", ".join(f"{count} x {reason}" for reason, count in counts.most_common())
    logging.warning(
        "Skipped %d of %d image files in %s (%s); the warnings above name each one.",
        len(skipped),
        len(skipped) + kept,
        split_dir,
        reasons,
    )


def _image_files(class_dir, fenced):
    """Image files below `class_dir`, sorted, reading each real directory once (`fenced`: real
    paths already read or not to be entered; updated in place)."""
    found = []
    for folder, subfolders, filenames in os.walk(class_dir, followlinks=True):
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
        subfolders[:] = entered
        found.extend(os.path.join(folder, f) for f in sorted(filenames) if has_image_extension(f))
    return found


def _checked(paths, skip_bad_files):
    """`(good paths, [(skipped path, problem), ...])`; raises on the first bad file unless
    skipping."""
    good, skipped = [], []
    for path in paths:
        problem = image_file_problem(path)
        if problem is None:
            good.append(path)
        elif skip_bad_files:
            logging.warning("Skipping image file %s: %s.", display_path(path), problem)
            skipped.append((path, problem))
        else:
            raise BadValueError(
                f"Cannot read image file {display_path(path)}: {problem}. Remove it, or pass "
                "--skip_bad_files (skip_bad_files=True)."
            )
    return good, skipped
