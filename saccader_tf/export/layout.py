"""Where exports live on disk: TensorFlow Serving's version folders, written atomically.

`model_dir/export/` is a *model base path* as TensorFlow Serving reads it: each export is a
SavedModel in its own integer-named folder `export/1/`, `export/2/`, ... and a server serves the
highest number (loading a new one as it appears). A re-export writes the next number and keeps the
older ones (delete them when you no longer want to roll back). Exports written before version
folders existed hold the SavedModel directly in `export/`; `find_export` still reads them, and a
server ignores those files (it only looks at integer-named folders).

A SavedModel is first written to a hidden sibling folder and renamed into place when complete, so
an export that fails or is killed never leaves half a model under its final name (a killed one
leaves its hidden folder, which the next export to that name deletes). On a file system given as a
URL (`gs://`, `s3://`, ...: `saccader_tf.model_dir.files`), whose folders cannot be renamed at
once, the SavedModel is written to a local temporary folder and copied file by file,
`saved_model.pb` last: a version folder counts (`export_versions`) once it holds that file.
"""

import os
import shutil
import tempfile

import tensorflow as tf

from saccader_tf.model_dir import files
from saccader_tf.utils.errors import BadValueError, MissingFileError

SAVED_MODEL_FILE = "saved_model.pb"


class MissingExportError(MissingFileError):
    """No SavedModel where one was expected."""


def export_versions(export_root):
    """The integer-named version folders of `export_root` holding a SavedModel, as sorted
    `(version, path)` pairs (none when the folder does not exist)."""
    versions = []
    for version, path in _numbered(export_root):
        if files.isfile(os.path.join(path, SAVED_MODEL_FILE)):
            versions.append((version, path))
    return sorted(versions)


def new_version_dir(export_root):
    """The folder of the next export under `export_root`: `export_root/<v + 1>` for the highest
    integer-named folder `v` there (complete or not), `export_root/1` for the first."""
    numbers = [version for version, _ in _numbered(export_root)]
    return os.path.join(export_root, str(max(numbers, default=0) + 1))


def find_export(path):
    """The SavedModel folder that `path` names: its highest version folder (`export_versions`),
    else `path` itself when it holds a SavedModel (a folder written before version folders, or
    any SavedModel folder).

    Raises:
        MissingExportError: neither exists.
    """
    versions = export_versions(path)
    if versions:
        return versions[-1][1]
    if files.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    raise MissingExportError(
        f"No SavedModel in {path} (neither {SAVED_MODEL_FILE} nor a version folder such as "
        f"{os.path.join(path, '1')} holding one): export the model first "
        "(python -m saccader_tf.launch --stage=export --model_dir=...)."
    )


def load_signatures(path):
    """The signatures of the SavedModel `find_export(path)` names: a dict of concrete functions
    called with keyword arguments, e.g. `load_signatures(p)["serving_default"](images=x)`.

    The path to call a SavedModel from Python (docs/serving.md, "Calling it from Python"): a
    refused call (a wrong dtype or rank) leaves a signature usable from every thread.
    """
    return tf.saved_model.load(find_export(path)).signatures


def write_atomically(export_dir, write):
    """Runs `write(folder)` on a fresh hidden sibling of `export_dir`, then renames the folder to
    `export_dir` (replacing a SavedModel already there; an empty folder is replaced too).

    Temporary files TensorFlow can leave beside the protocol buffers it wrote (`*.pb.tmp*`) are
    removed before the rename. On any error the hidden folder is deleted and `export_dir` is left
    as it was.

    Raises:
        BadValueError: `export_dir` is a file, or a non-empty folder without a SavedModel.
    """
    export_dir = files.absolute(export_dir)
    _check_replaceable(export_dir)
    if files.is_remote(export_dir):
        return _write_by_copy(export_dir, write)
    parent, name = os.path.split(export_dir)
    os.makedirs(parent, exist_ok=True)
    _remove_stale(parent, name)
    partial = os.path.join(parent, f".{name}.partial-{os.getpid()}")
    try:
        write(partial)
        _remove_temporary_files(partial)
        _move_into_place(partial, export_dir, os.path.join(parent, f".{name}.old-{os.getpid()}"))
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return export_dir


def _write_by_copy(export_dir, write):
    """`write_atomically` for a URL: `write` into a local temporary folder, then a copy to
    `export_dir` with `saved_model.pb` last (a SavedModel there before is deleted first)."""
    local = tempfile.mkdtemp(prefix="saccader_export_")
    try:
        folder = os.path.join(local, "export")
        write(folder)
        _remove_temporary_files(folder)
        files.rmtree(export_dir)
        files.copy_tree(folder, export_dir, last=SAVED_MODEL_FILE)
    finally:
        shutil.rmtree(local, ignore_errors=True)
    return export_dir


def _numbered(export_root):
    if not files.isdir(export_root):
        return []
    return [
        (int(entry), os.path.join(export_root, entry))
        for entry in files.listdir(export_root)
        if entry.isdigit() and files.isdir(os.path.join(export_root, entry))
    ]


def _check_replaceable(export_dir):
    if not files.exists(export_dir):
        return
    if files.isdir(export_dir) and (
        not files.listdir(export_dir) or files.isfile(os.path.join(export_dir, SAVED_MODEL_FILE))
    ):
        return
    raise BadValueError(
        f"Cannot export to {export_dir}: it exists and is not a SavedModel folder (nor empty). "
        "Choose another path or move it away."
    )


def _remove_stale(parent, name):
    """Hidden folders that a killed export to `name` left behind."""
    for entry in os.listdir(parent):
        if entry.startswith((f".{name}.partial-", f".{name}.old-")):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _remove_temporary_files(folder):
    for directory, _, names in os.walk(folder):
        for file in names:
            if ".pb.tmp" in file:
                os.remove(os.path.join(directory, file))


def _move_into_place(partial, export_dir, old):
    if os.path.exists(export_dir):
        os.rename(export_dir, old)
        try:
            os.rename(partial, export_dir)
        except OSError:
            os.rename(old, export_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(partial, export_dir)
