"""Whether a path is a URL (`gs://bucket/run`, `ram://run`) rather than a local path; without
TensorFlow, so the model_dir lock can tell (`saccader_tf.model_dir.lock`)."""

import os
import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(path):
    """The URL scheme of `path` (`"gs"` for `gs://bucket/run`, lower case), or `None` for a local
    path."""
    match = _SCHEME.match(os.fspath(path))
    return match.group(1).lower() if match else None


def is_url(path):
    """Whether `path` is a URL, read and written through `tf.io.gfile`."""
    return url_scheme(path) is not None
