"""Listing of an image folder `<root>/<split>/<class>/<images>` into paths and labels."""

import collections
import dataclasses
import os
from typing import Optional, Tuple

from absl import logging

from saccader_tf.data.image_file_check import IMAGE_EXTENSIONS, check_image_file, display_path
from saccader_tf.data.image_folder_walk import (
    LeftOut,
    class_folders,
    image_files,
    refuse_duplicates,
    warn_loose_files,
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
        train_pillow: indices into `train_paths` of the files only Pillow decodes (TIFF, BMP other
            than 24/32-bit uncompressed); `None` when the files were not checked.
        eval_pillow: the same for `eval_paths`.
    """

    class_names: Tuple[str, ...]
    train_paths: Tuple[str, ...]
    train_labels: Tuple[int, ...]
    eval_paths: Tuple[str, ...]
    eval_labels: Tuple[int, ...]
    eval_split: str
    train_pillow: Optional[Tuple[int, ...]] = None
    eval_pillow: Optional[Tuple[int, ...]] = None


def list_image_folder(root, *, check_files=True, skip_bad_files=False):
    """Lists `<root>/train/<class>/...` and `<root>/val/<class>/...` (or `validation`/`test`).

    Class folders are the sub-folders of `train` not starting with `.`, sorted by their names in
    Unicode NFC form (the class names; the evaluation split's folders are matched in that form);
    at least 2 are needed. Images are found recursively below each class folder by extension
    (`IMAGE_EXTENSIONS`, case-insensitive); hidden files are skipped, and named pipes, devices and
    files of other extensions are left out with one counted line each, never opened
    (`saccader_tf.data.image_folder_walk`). Symbolic links are followed, but every real directory
    is read at most once per split, and never from inside another class: a link back to the
    folder itself, to a parent, or to another class's folder is skipped with a warning (so a loop
    cannot repeat files, give them the wrong label, or make the listing run forever); links to
    folders outside the tree are read normally. A file reached twice in a split (a linked class
    folder, a file link into another class) is refused, naming the file and both classes.

    Args:
        root: folder holding the split folders.
        check_files: check every file's size and signature now (`image_file_problem`).
        skip_bad_files: when a check fails, log a warning and leave the file out instead of raising.

    Returns:
        An `ImageFolderListing`.

    Raises:
        FileNotFoundError: `root`, `train` or every evaluation folder is missing.
        ValueError: fewer than 2 class folders, a training class without images, evaluation classes
            that differ from the training classes, a file listed twice, or (unless
            `skip_bad_files`) a file that is not an image.
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
    eval_dir = os.path.join(root, eval_split)
    train_folders = class_folders(train_dir)
    class_names = tuple(sorted(train_folders))
    _check_classes(root, train_dir, class_names, eval_split, class_folders(eval_dir))
    files = dict(class_names=class_names, check_files=check_files, skip_bad_files=skip_bad_files)
    train = _split_files(train_dir, require_images=True, **files)
    evaluation = _split_files(eval_dir, require_images=False, **files)
    if not evaluation[0]:
        raise BadValueError(
            f"{eval_dir} holds no readable images (its class folders are empty), so nothing could "
            f"be evaluated: put held-out images in {eval_dir}/<class>/. Received: root={root!r}"
        )
    return ImageFolderListing(
        class_names,
        train[0],
        train[1],
        evaluation[0],
        evaluation[1],
        eval_split,
        train_pillow=train[2],
        eval_pillow=evaluation[2],
    )


def _check_classes(root, train_dir, class_names, eval_split, eval_folders):
    if not class_names:
        raise BadValueError(
            f"{train_dir} has no class sub-folders; put each class's images in "
            f"{train_dir}/<class>/. Received: root={root!r}"
        )
    if len(class_names) == 1:
        raise BadValueError(
            f"{train_dir} has one class folder ({class_names[0]!r}), but a classifier needs at "
            f"least 2 classes: add a folder per class to {train_dir}/. Received: root={root!r}"
        )
    eval_classes = tuple(sorted(eval_folders))
    if eval_classes != class_names:
        missing = sorted(set(class_names) - set(eval_classes))
        extra = sorted(set(eval_classes) - set(class_names))
        raise BadValueError(
            f"The classes of {root}/{eval_split} differ from those of {train_dir}: missing "
            f"{missing}, unexpected {extra}. Give both splits the same class folders (an empty "
            f"folder is allowed in {eval_split}). Received: root={root!r}"
        )


def _find_eval_split(root):
    for split in EVAL_SPLITS:
        if os.path.isdir(os.path.join(root, split)):
            return split
    raise MissingFileError(
        f"Image folder {root} has no evaluation sub-folder: expected one of "
        f"{[split + '/' for split in EVAL_SPLITS]} next to {TRAIN_SPLIT}/. Received: root={root!r}"
    )


def _split_files(split_dir, *, class_names, require_images, check_files, skip_bad_files):
    """`(paths, labels, pillow indices or None)` of one split."""
    paths, labels, skipped, pillow = [], [], [], []
    folders = class_folders(split_dir)
    # Directories no class walk may enter: the tree's own folders (a link to one is a loop or
    # would relabel another class's images). Each class walk adds what it reads.
    class_dirs = [os.path.join(split_dir, folders[name]) for name in class_names]
    root = os.path.dirname(split_dir)
    splits = [entry.path for entry in os.scandir(root) if entry.is_dir()]  # train/, val/, ...
    fenced = {os.path.realpath(d) for d in [root, *splits, *class_dirs]}
    left_out = LeftOut()
    for label, class_dir in enumerate(class_dirs):
        class_paths = image_files(class_dir, fenced, left_out)
        if check_files:
            class_paths, class_skipped, class_pillow = _checked(class_paths, skip_bad_files)
            skipped.extend(class_skipped)
            pillow.extend(len(paths) + i for i in class_pillow)
        if require_images and not class_paths:
            raise BadValueError(
                f"Class folder {display_path(class_dir)} has no readable images "
                f"(extensions {IMAGE_EXTENSIONS}). Add images or remove the folder."
            )
        paths.extend(class_paths)
        labels.extend([label] * len(class_paths))
    warn_loose_files(split_dir)
    left_out.warn(split_dir)
    refuse_duplicates(split_dir, paths, labels, class_names)
    if skipped:
        _warn_skipped(split_dir, skipped, kept=len(paths))
    return tuple(paths), tuple(labels), tuple(pillow) if check_files else None


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


def _checked(paths, skip_bad_files):
    """`(good paths, [(skipped path, problem), ...], indices into good paths of the files only
    Pillow decodes)`; raises on the first bad file unless skipping."""
    good, skipped, pillow = [], [], []
    for path in paths:
        check = check_image_file(path)
        problem = check.problem
        if problem is None:
            if check.needs_pillow:
                pillow.append(len(good))
            good.append(path)
        elif skip_bad_files:
            logging.warning("Skipping image file %s: %s.", display_path(path), problem)
            skipped.append((path, problem))
        else:
            raise BadValueError(
                f"Cannot read image file {display_path(path)}: {problem}. Remove it, or pass "
                "--skip_bad_files (skip_bad_files=True)."
            )
    return good, skipped, pillow
