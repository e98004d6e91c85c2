"""A TFDS dataset that is not on disk yet: say that it is downloaded, and fail fast without network.

`tfds_source` prepares a dataset with `builder.download_and_prepare()`, which on a machine without
network retries silently for minutes (first against the TFDS bucket, then the dataset's own URLs)
before a connection error. `explained_download(name, data_dir)` wraps the building of a TFDS
source: when the dataset is not prepared in `data_dir` it says that TFDS is about to download it,
checks that the download host can be reached (a few seconds at most), and turns a missing network
(or a connection error raised later by the download) into `NoNetworkError`, whose message says how
to prepare the data on another machine and bring it here. A manual-download dataset
(`imagenet2012`, which TFDS cannot download at all) whose archives are not in
`<data_dir>/downloads/manual/` raises `ManualDownloadError` at once, saying where to put them.
"""

import contextlib
import os
import socket
import sys

import requests
import tensorflow_datasets as tfds

from saccader_tf.utils.errors import UserError

# Where TFDS looks first (its prepared-data bucket); the dataset's own URLs come after it.
PROBE_HOST = ("storage.googleapis.com", 443)
_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


class NoNetworkError(UserError, ValueError):
    """A TFDS dataset must be downloaded and the network cannot be reached."""


class ManualDownloadError(UserError, ValueError):
    """A TFDS dataset that TFDS cannot download is not prepared and its archives are missing."""


def network_reachable(host=PROBE_HOST, timeout=5.0):
    """Whether a TCP connection to `host` (`(name, port)`) opens within `timeout` seconds.

    `True` without trying when a proxy is configured (the download goes through it, a direct
    connection says nothing).
    """
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return True
    try:
        socket.create_connection(host, timeout=timeout).close()
        return True
    except OSError:
        return False


MANUAL_DOWNLOADS = {
    "imagenet2012": ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"),
}
"""TFDS datasets that TFDS cannot download (manual download only), with the archives its builder
reads from `<data_dir>/downloads/manual/` (the builder's `MANUAL_DOWNLOAD_INSTRUCTIONS`)."""


def offline_message(name, data_dir):
    """The fix for a TFDS dataset that cannot be downloaded here."""
    target = data_dir or "~/tensorflow_datasets"
    base = name.split("/")[0].split(":")[0]
    if base in MANUAL_DOWNLOADS:
        return manual_download_message(name, base, target)
    return (
        f"TFDS needs to download {name!r}, but there is no network. Prepare it offline: "
        f"on a machine with network run `tfds build {name} --data_dir=DIR` (or "
        '`python -c "import tensorflow_datasets as tfds; '
        f"tfds.builder('{name}', data_dir='DIR').download_and_prepare()\"`), "
        f"copy DIR here and pass --data_dir=DIR (now: {target}); "
        "or use --dataset=cluttered_mnist (built in, offline) or "
        f"--dataset=folder:PATH. Received: dataset={name}"
    )


def manual_download_message(name, base, target):
    """How to prepare a manual-download TFDS dataset (`base`, one of `MANUAL_DOWNLOADS`)."""
    archives = " and ".join(MANUAL_DOWNLOADS[base])
    return (
        f"TFDS cannot download {name!r}: it is manual-download only (register at "
        "https://image-net.org/download-images to get the archives). Place "
        f"{archives} in {target}/downloads/manual/, then run `tfds build {base} "
        f"--data_dir={target}` (once) and pass --data_dir={target}; or, "
        "with ImageNet already converted to TFRecord shards (train-*, validation-*), use "
        f"--dataset=tfrecord:DIR. Received: dataset={name}"
    )


def _check_manual_archives(name, builder):
    """Raises `ManualDownloadError` for a manual-download dataset whose archives are not in
    `<data_dir>/downloads/manual/` (TFDS would fail there, with or without network)."""
    base = name.split("/")[0].split(":")[0]
    if base not in MANUAL_DOWNLOADS:
        return
    root = getattr(builder, "_data_dir_root", None) or os.path.dirname(
        os.path.dirname(builder.data_dir)
    )
    manual = os.path.join(root, "downloads", "manual")
    if not all(os.path.exists(os.path.join(manual, f)) for f in MANUAL_DOWNLOADS[base]):
        raise ManualDownloadError(manual_download_message(name, base, root))


@contextlib.contextmanager
def explained_download(name, data_dir=None, reachable=None):
    """Context for building the TFDS source `name` (see the module docstring).

    Args:
        name: a TFDS dataset name (unknown names are left to the source builder to report).
        data_dir: the TFDS data directory (`None` = the TFDS default).
        reachable: the network check, a function of no argument returning a bool (default:
            `network_reachable`).

    Raises:
        NoNetworkError: the dataset is not prepared and the network cannot be reached, or the
            download failed to connect.
    """
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception:  # noqa: BLE001 (unknown or misspelled names: the source builder explains them)
        builder = None
    if builder is not None and not builder.is_prepared():
        _check_manual_archives(name, builder)
        print(
            f"TFDS is downloading and preparing {name!r} into {builder.data_dir} "
            "(needs the network; done once)",
            file=sys.stderr,
            flush=True,
        )
        if not (reachable or network_reachable)():
            raise NoNetworkError(offline_message(name, data_dir))
    try:
        yield
    except requests.exceptions.ConnectionError as error:
        raise NoNetworkError(
            f"{offline_message(name, data_dir)} ({type(error).__name__})"
        ) from None
