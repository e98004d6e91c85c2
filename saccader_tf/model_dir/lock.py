"""One training launcher per `model_dir` at a time: an exclusive lock on the `model_dir` folder.

Two launchers on one `model_dir` would share its progress saves, stage files and logs, and both
claim the result. `ModelDirLock` takes an exclusive `fcntl.flock` on the `model_dir` folder itself
and on `model_dir/launcher.lock`, and writes who holds it (pid, host, start time, command) into that
file. A second launcher finds the lock taken and is refused with `ModelDirBusyError` naming that
process. The lock on the folder is what counts: deleting `launcher.lock` while a launcher runs does
not free it (the next launcher's message then names the holder as unknown). The kernel releases the
locks when their holder exits or is killed (also by `kill -9`), so a lock left by a dead process
never blocks: the file stays, but nobody holds it.

Under `--strategy=multi_worker` only the chief takes the lock (the other workers write nothing
under `model_dir`). On a network filesystem `flock` is forwarded to the server by Linux's NFS
client; where a folder cannot be locked only the file's lock applies.

A model_dir given as a URL (`gs://`, `s3://`, `ram://`, ...; `saccader_tf.model_dir.files`) is not
locked: object stores have no `flock`, and a lock file alone would be left behind by every killed
launcher. There, keeping one launcher per model_dir is the job scheduler's (docs/reliability.md,
"Locks").
"""

import datetime
import errno
import fcntl
import json
import os
import shlex
import socket
import stat
import sys
import time

from saccader_tf.utils.errors import UserError
from saccader_tf.utils.urls import is_url

LOCK_FILE = "launcher.lock"


class ModelDirBusyError(UserError, RuntimeError):
    """Another live process holds the lock on the `model_dir`."""


class ModelDirLock:
    """Context manager holding the exclusive lock on `model_dir` (created if needed).

    Args:
        model_dir: the run's directory.
        command: the holder's command line, written into the lock file (default: `sys.argv`).

    Raises:
        ModelDirBusyError: on entering, when another process holds the lock; the message names its
            pid, host, start time and command.

    Example:
        >>> with ModelDirLock("runs/a"):
        ...     train()
    """

    def __init__(self, model_dir, command=None):
        self.path = os.path.join(model_dir, LOCK_FILE)
        self.command = command if command is not None else shlex.join([sys.executable, *sys.argv])
        self._fd = None
        self._directory_fd = None

    def __enter__(self):
        model_dir = os.path.dirname(self.path) or "."
        if is_url(model_dir):
            return self  # not locked: see the module docstring
        os.makedirs(model_dir, exist_ok=True)
        # The lock is held on model_dir itself: deleting launcher.lock cannot free it. The file
        # is locked too (launchers of older versions lock only the file) and names the holder.
        directory_fd = _locked(os.open(model_dir, os.O_RDONLY | os.O_DIRECTORY), self)
        try:
            fd = _locked(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), self)
        except BaseException:
            os.close(directory_fd)
            raise
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        os.fsync(fd)
        self._fd, self._directory_fd = fd, directory_fd
        return self

    def __exit__(self, *exc_info):
        for name in ("_fd", "_directory_fd"):
            fd = getattr(self, name)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                setattr(self, name, None)
        return False

    def holder(self):
        """The record of the process that holds (or last held) the lock, or `{}` if unreadable."""
        for _ in range(20):  # the holder writes its record right after locking: wait briefly for it
            try:
                with open(self.path) as f:
                    return json.loads(f.read())
            except (OSError, ValueError):
                time.sleep(0.05)
        return {}

    def _busy_message(self):
        holder = self.holder()
        who = (
            f"process {holder.get('pid', '?')} on host {holder.get('host', '?')} (started "
            f"{holder.get('started', '?')}: {holder.get('command', '?')})"
        )
        model_dir = os.path.dirname(self.path)
        return (
            f"{model_dir} is in use by another launcher, {who}. Wait for it to finish or stop "
            f"it (kill {holder.get('pid', '<pid>')}), or use another --model_dir. "
            f"Received: model_dir={model_dir}"
        )


def _locked(fd, lock):
    """`fd` once this process holds an exclusive `flock` on it; closed, and `ModelDirBusyError`
    raised, when another process holds it. A filesystem that cannot lock a directory (some
    network filesystems) leaves the directory unlocked, the file's lock still applies."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EACCES):
            os.close(fd)
            raise ModelDirBusyError(lock._busy_message()) from None
        if error.errno in (errno.EBADF, errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                return fd  # unlocked, but closed on exit like a locked one
        os.close(fd)
        raise
    return fd
