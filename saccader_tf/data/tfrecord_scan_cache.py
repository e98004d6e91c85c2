"""The shard scan of a TFRecord source, kept in a file so that a restart does not read every record
again.

`scan_shards` reads every record's label once (on full ImageNet, one read of about 140 GB). With a
cache file (`tfrecord_scan.json` in the model_dir when the launcher makes the source), the scan of
each split is stored beside a fingerprint of its shards (path, size in bytes and modification time
of each file, and the label offset) and reused while the fingerprint is unchanged: a shard that is
rewritten, added or removed, or another `--label_offset`, scans that split again. A cache file that
cannot be read or parsed is scanned over with a warning. All file access goes through
`tf.io.gfile`, so the cache works on any file system TensorFlow knows.
"""

import json
import os
import uuid

import tensorflow as tf
from absl import logging

from saccader_tf.data.tfrecord_shards import ShardScan, scan_shards

CACHE_NAME = "tfrecord_scan.json"
"""The cache's file name in a model_dir."""
_VERSION = 1


def fingerprint(files, label_offset):
    """`{"label_offset": k, "shards": [[path, bytes, mtime_nsec], ...]}` of `files`."""
    shards = []
    for path in files:
        stat = tf.io.gfile.stat(path)
        shards.append([str(path), int(stat.length), int(stat.mtime_nsec)])
    return {"label_offset": int(label_offset), "shards": shards}


def cached_scans(splits, label_offset, cache_path=None, write=True):
    """`{split: ShardScan}` of `splits` (`{split: shard paths}`), read from `cache_path` where its
    fingerprint matches, scanned (`scan_shards`) otherwise.

    Args:
        splits: `{"train": files, "eval": files}` (any split names).
        label_offset: passed to `scan_shards`; part of the fingerprint.
        cache_path: the cache file, or `None` to scan without a cache.
        write: whether to write the cache when a split was scanned (the chief only, under several
            workers: the others read it).

    Returns:
        `{split: ShardScan}`, in the order of `splits`.
    """
    stored = _read(cache_path) if cache_path else {}
    scans, entries, scanned = {}, {}, []
    for split, files in splits.items():
        prints = fingerprint(files, label_offset)
        entry = stored.get(split)
        if entry is not None and entry.get("fingerprint") == prints:
            scans[split] = _scan_of(entry["scan"])
        else:
            scans[split] = scan_shards(files, label_offset)
            scanned.append(split)
        entries[split] = {"fingerprint": prints, "scan": _entry_of(scans[split])}
    if cache_path and scanned and write:
        _write(cache_path, {"version": _VERSION, "splits": entries})
    reused = [split for split in splits if split not in scanned]
    if reused:
        logging.info("Shard scan of %s read from %s.", ", ".join(reused), cache_path)
    return scans


def _entry_of(scan):
    return {
        "records": list(scan.records),
        "min_label": scan.min_label,
        "max_label": scan.max_label,
        "names": {str(label): name for label, name in sorted(scan.names.items())},
    }


def _scan_of(entry):
    return ShardScan(
        records=tuple(int(n) for n in entry["records"]),
        min_label=int(entry["min_label"]),
        max_label=int(entry["max_label"]),
        names={int(label): str(name) for label, name in entry["names"].items()},
    )


def _read(path):
    """The cached splits of `path` (`{}` when there is none or it cannot be used)."""
    if not tf.io.gfile.exists(path):
        return {}
    try:
        with tf.io.gfile.GFile(path, "r") as handle:
            content = json.load(handle)
        if content.get("version") != _VERSION:
            return {}
        splits = content["splits"]
        for entry in splits.values():
            _scan_of(entry["scan"])  # a malformed entry raises here, not later
        return splits
    except (ValueError, KeyError, TypeError, AttributeError, tf.errors.OpError) as error:
        logging.warning("Ignoring the shard scan cache %s (%s); scanning again.", path, error)
        return {}


def _write(path, content):
    """Writes `content` as JSON to a temporary sibling, then renames it onto `path`."""
    folder = os.path.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
    temporary = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with tf.io.gfile.GFile(temporary, "w") as handle:
        json.dump(content, handle)
    tf.io.gfile.rename(temporary, path, overwrite=True)
