"""Every read and write under a model_dir, on any file system TensorFlow knows.

A model_dir is a local path or the URL of a file system `tf.io.gfile` reads: `gs://` (built into
TensorFlow), `s3://` and `hdfs://` (with the `tensorflow-io` plug-in), `ram://` (TensorFlow's
in-memory file system, which the tests use). Local paths keep going through `os` and `open` (so
their renames stay atomic and the lock applies, see `saccader_tf.model_dir.lock`); a URL goes
through `tf.io.gfile`. Keras writes its `.weights.h5` files with h5py, which needs a local file:
`written_locally` hands out a local temporary file and copies it to the destination,
`local_copy` does the reverse for reading. docs/distributed.md, "Cloud storage", says what was
tested (ram://) and what could not be here (real buckets).
"""

import contextlib
import hashlib
import os
import posixpath
import shutil
import tempfile

import tensorflow as tf

from saccader_tf.utils.urls import is_url, url_scheme

_CHUNK = 1 << 20


def scheme(path):
    """The URL scheme of `path` (`"gs"` for `gs://bucket/run`), or `None` for a local path."""
    return url_scheme(path)


def is_remote(path):
    """Whether `path` is a URL (read and written through `tf.io.gfile`) rather than a local path."""
    return is_url(path)


def absolute(path):
    """`path` made absolute: a local path through `os.path.abspath`, a URL as it is."""
    return path if is_remote(path) else os.path.abspath(path)


def exists(path):
    """Whether a file or folder `path` exists."""
    if not is_remote(path):
        return os.path.exists(path)
    return tf.io.gfile.exists(path) and _listed(path)


def isdir(path):
    """Whether `path` is an existing folder."""
    if not is_remote(path):
        return os.path.isdir(path)
    return tf.io.gfile.isdir(path) and _listed(path)


def isfile(path):
    """Whether `path` is an existing file."""
    if not is_remote(path):
        return os.path.isfile(path)
    return exists(path) and not tf.io.gfile.isdir(path)


def _listed(path):
    """Whether `path` is listed in its parent folder. TensorFlow's ram:// file system answers
    `exists` and `isdir` for any prefix of a stored name (`stage1/saccader.weights.h5` "exists"
    while only `saccader.weights.h5.sha256` does), so there the parent's listing decides."""
    if scheme(path) != "ram":
        return True
    parent, name = posixpath.split(path.rstrip("/"))
    if not name or not is_remote(parent + "/"):
        return True  # the root of the file system
    try:
        return name in {entry.rstrip("/") for entry in tf.io.gfile.listdir(parent + "/")}
    except tf.errors.NotFoundError:
        return False


def makedirs(path):
    """Creates the folder `path` and its parents (nothing when it exists)."""
    if is_remote(path):
        tf.io.gfile.makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def listdir(path):
    """The names of the entries of the folder `path` (folders without a trailing `/`)."""
    if not is_remote(path):
        return os.listdir(path)
    return [entry.rstrip("/") for entry in tf.io.gfile.listdir(path)]


def walk(path):
    """`(folder, subfolders, files)` for `path` and every folder below it, top down."""
    return os.walk(path) if not is_remote(path) else tf.io.gfile.walk(path)


def remove(path):
    """Deletes the file `path`; nothing when it does not exist."""
    if not is_remote(path):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    elif exists(path):
        with contextlib.suppress(tf.errors.NotFoundError):
            tf.io.gfile.remove(path)


def rmtree(path):
    """Deletes the folder `path` with everything in it; nothing when it does not exist."""
    if not is_remote(path):
        shutil.rmtree(path, ignore_errors=True)
    elif exists(path):
        with contextlib.suppress(tf.errors.NotFoundError):
            tf.io.gfile.rmtree(path)


def replace(source, destination):
    """Renames the file `source` to `destination`, replacing it: atomic on a local disk (and on
    file systems whose rename is), a copy and delete on object stores such as gs://."""
    if is_remote(source) or is_remote(destination):
        tf.io.gfile.rename(source, destination, overwrite=True)
    else:
        os.replace(source, destination)


def open_file(path, mode="r"):
    """`path` opened in `mode` (`"r"`, `"w"`, `"rb"`, `"wb"`): `open` (UTF-8 text) for a local
    path, `tf.io.gfile.GFile` for a URL."""
    if is_remote(path):
        if "w" in mode:
            _clear(path)
        return tf.io.gfile.GFile(path, mode)
    return open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"}))


def read_text(path):
    """The text of the file `path` (UTF-8) as it is (no newline translation)."""
    if is_remote(path):
        with tf.io.gfile.GFile(path, "r") as f:
            return f.read()
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def write_text(path, text):
    """Writes `text` to the file `path` as it is (no newline translation)."""
    if is_remote(path):
        with open_file(path, "w") as f:
            f.write(text)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)


def sha256(path):
    """The SHA-256 (hex) of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open_file(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def identity(path):
    """What identifies the folder `path`, to notice it being deleted or replaced: `(device,
    inode)` on a local disk, `(url,)` for a URL (which can only be seen deleted); `None` when it
    does not exist."""
    if is_remote(path):
        return (path,) if isdir(path) else None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


@contextlib.contextmanager
def written_locally(path):
    """A local file name to write `path` through: `path` itself when it is local; for a URL a file
    of the same name in a temporary local folder, copied to `path` when the block ends without an
    error (the temporary folder is deleted either way)."""
    if not is_remote(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="saccader_write_")
    try:
        local = os.path.join(folder, posixpath.basename(path))
        yield local
        _copy(local, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def local_copy(path):
    """A local file holding the contents of `path`: `path` itself when it is local; for a URL a
    copy in a temporary local folder, deleted when the block ends."""
    if not is_remote(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="saccader_read_")
    try:
        local = os.path.join(folder, posixpath.basename(path))
        tf.io.gfile.copy(path, local, overwrite=True)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def copy_tree(source, destination, last=None):
    """Copies the folder `source` (local or a URL) to `destination`, file by file; the top-level
    file named `last` is copied after every other one, so a reader that waits for it sees a
    complete folder."""
    deferred = []
    for folder, _, names in walk(source):
        relative = os.path.relpath(folder, source) if not is_remote(source) else None
        if relative is None:
            relative = folder[len(source) :].strip("/") or "."
        target = destination if relative == "." else posixpath.join(destination, relative)
        makedirs(target)
        for name in names:
            pair = (os.path.join(folder, name), posixpath.join(target, name))
            if relative == "." and name == last:
                deferred.append(pair)
            else:
                _copy(*pair)
    for pair in deferred:
        _copy(*pair)


def _copy(source, destination):
    """Copies the file `source` over `destination` (either may be a URL)."""
    _clear(destination)
    tf.io.gfile.copy(source, destination, overwrite=True)


def _clear(path):
    """Deletes a file about to be written on ram://, whose writes (and copies) append to a file
    that exists instead of replacing it."""
    if scheme(path) == "ram":
        remove(path)


def reachability_problem(path):
    """Why TensorFlow cannot use the URL `path` (one sentence), or `None` when it can (or when
    `path` is local)."""
    kind = scheme(path)
    if kind is None:
        return None
    try:
        tf.io.gfile.exists(path)
    except tf.errors.UnimplementedError:
        plugin = " (install the tensorflow-io plug-in for it: pip install tensorflow-io)"
        return (
            f"TensorFlow knows no file system {kind}://"
            + (plugin if kind in ("s3", "hdfs", "viewfs", "az") else "")
            + "; use a local path or gs://"
        )
    except tf.errors.OpError as error:
        reason = (error.message or type(error).__name__).strip().splitlines()[0]
        return f"it cannot be reached ({reason}); check the address, the network and credentials"
    return None
