"""The process-wide record of image files skipped while decoding (`skip_bad_files`).

Both the decode-once cache (in Python) and the streamed pipeline (inside tf.data, without calling
back into Python) note a skipped file here, so each file is named once per process and the count
covers both. The record is a TensorFlow hash table keyed by the file's printable path: the
streamed pipeline updates it and prints its warning with TensorFlow ops, because a Python call from
a tf.data thread (`tf.py_function`) can keep the process from ever exiting once an error stops the
pipeline.
"""

import sys

import tensorflow as tf
from absl import logging

_state = {}  # mutated, never rebound: autograph runs converted code in a copy of the globals


def _record():
    """The process's table of skipped names and the critical section that guards it."""
    if "table" not in _state:
        with tf.init_scope():  # eagerly, even when first needed while a pipeline is traced
            _state["table"] = tf.lookup.experimental.MutableHashTable(
                tf.string, tf.int64, default_value=0
            )
            _state["turns"] = tf.CriticalSection(name="skipped_files")
    return _state["table"], _state["turns"]


def skipped_while_decoding():
    """Sorted printable paths of the files skipped while decoding in this process."""
    keys, _ = _record()[0].export()
    return sorted(key.decode("utf-8", errors="backslashreplace") for key in keys.numpy())


_WORDS = (
    "Skipping image file ",
    ": it cannot be decoded; ",
    " (",
    " file(s) skipped while decoding in this process).",
)


def _warning_parts(name, filled, count):
    return [_WORDS[0], name, _WORDS[1], filled, _WORDS[2], count, _WORDS[3]]


def note_skipped(name, filled_by=None):
    """Eagerly notes the skipped file `name` (printable path) and logs one warning the first time;
    `filled_by` names the file that fills its slot (`None`: left out)."""
    table, _ = _record()
    if int(table.lookup(tf.constant(name))) > 0:
        return
    table.insert(tf.constant(name), tf.constant(1, tf.int64))
    filled = f"its slot is filled by {filled_by}" if filled_by else "left out"
    logging.warning("".join(_warning_parts(name, filled, str(int(table.size())))))


def note_skipped_in_graph(name, filled_by):
    """The graph version of `note_skipped` (string scalar tensors; `filled_by` empty: left out):
    prints the warning to stderr with `tf.print` the first time. Returns a bool scalar `True`
    (for control dependencies).

    Parallel decode threads take turns (a `tf.CriticalSection` around the look-up, insert, count
    and print), so each file is named once and the counts in the warnings run 1, 2, 3, ... in the
    order they are printed."""
    table, turns = _record()

    def first_time():
        insert = table.insert(name, tf.constant(1, tf.int64))
        with tf.control_dependencies([insert]):
            count = tf.strings.as_string(table.size())
        filled = tf.cond(
            tf.strings.length(filled_by) > 0,
            lambda: tf.strings.join(["its slot is filled by ", filled_by]),
            lambda: tf.constant("left out"),
        )
        message = tf.strings.join(["warning: ", *_warning_parts(name, filled, count)])
        with tf.control_dependencies([tf.print(message, output_stream=sys.stderr)]):
            return tf.constant(True)

    def once():
        return tf.cond(table.lookup(name) > 0, lambda: tf.constant(True), first_time)

    return turns.execute(once)
