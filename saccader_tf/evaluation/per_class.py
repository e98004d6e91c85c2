"""Per-class results of an evaluation: for each class its test images and the top-1 accuracy of
the learned policy (and of the full image, and of a Saccader-ClassNet), written as
`per_class_accuracy.json` and printed as a short table.

The evaluation pass (`batch_sums`) adds, per batch, the top-1 hits of every policy split by label
(`class_top1`: `[T, K]` for a glimpse policy, `[K]` for `full`) and the images per label
(`CLASS_EXAMPLES`, `[K]`); `per_class_accuracy` turns their totals into one record per class.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.results import CLASSNET

CLASS_EXAMPLES = "class_examples"
"""Key of the per-label image counts `[K]` in the sums of an evaluation pass."""
PER_CLASS = "per_class"
"""Key of the per-class record in `policy_accuracies`'s result."""
PER_CLASS_FILE = "per_class_accuracy.json"
"""The file (in model_dir) holding `per_class_accuracy`'s record."""
COLUMNS = ("learned", "full", CLASSNET)
"""The accuracies a class record can hold: the final network's learned policy at T glimpses, its
full-image logits, the Saccader-ClassNet's classifier on the learned glimpses."""
SHOWN = 5
"""With more than `4 * SHOWN` classes the table shows only the `SHOWN` worst and best."""


def per_class_sums(values, labels, num_classes):
    """`values` `[B]` summed per label: float32 `[K]` (entry k: the sum over images of label k)."""
    values = tf.cast(values, tf.float32)
    return tf.math.unsorted_segment_sum(values, tf.cast(labels, tf.int32), num_classes)


def per_class_accuracy(totals, glimpses, class_names=None):
    """One record per class from the totals of an evaluation pass (`batch_sums.run_batches`).

    Args:
        totals: the summed `make_batch_step` results: `CLASS_EXAMPLES` `[K]`, per policy name a
            dict with `class_top1` (`[T, K]`, or `[K]` for `full`), and optionally
            `totals["classnet"][policy]` likewise.
        glimpses: T, the number of glimpses of the learned policy's accuracy (1 <= T <= the
            unrolled steps).
        class_names: `K` class names, or `None` (the indices as strings).

    Returns:
        `{"glimpses": T, "examples": n, "columns": [...], "classes": [...]}` with one dict per
        class: `class` (its index), `name`, `examples` and, for each column of `COLUMNS` that was
        measured, the top-1 accuracy in [0, 1] (`None` for a class without test images); or
        `None` when neither the learned policy nor the full image was measured.
    """
    counts = np.asarray(totals[CLASS_EXAMPLES], np.float64)
    hits = {}
    if "learned" in totals:
        hits["learned"] = np.asarray(totals["learned"]["class_top1"])[glimpses - 1]
    if "full" in totals:
        hits["full"] = np.asarray(totals["full"]["class_top1"])
    if CLASSNET in totals and "learned" in totals[CLASSNET]:
        hits[CLASSNET] = np.asarray(totals[CLASSNET]["learned"]["class_top1"])[glimpses - 1]
    if not hits:
        return None
    names = class_names if class_names and len(class_names) == len(counts) else None
    classes = []
    for index, count in enumerate(counts):
        record = {
            "class": index,
            "name": str(names[index]) if names else str(index),
            "examples": int(count),
        }
        for column, values in hits.items():
            record[column] = float(values[index] / count) if count else None
        classes.append(record)
    return {
        "glimpses": int(glimpses),
        "examples": int(counts.sum()),
        "columns": list(hits),
        "classes": classes,
    }


def with_class_names(per_class, class_names):
    """`per_class` with its classes named `class_names` (when they are `K` names; else as it is)."""
    if per_class is None or not class_names or len(class_names) != len(per_class["classes"]):
        return per_class
    classes = [dict(c, name=str(class_names[c["class"]])) for c in per_class["classes"]]
    return {**per_class, "classes": classes}


def _percent(value):
    return "-" if value is None else f"{100 * value:.2f}%"


def format_per_class_table(per_class, path=None):
    """A short text table of `per_class_accuracy`'s record, worst classes first.

    With more than `4 * SHOWN` classes only the `SHOWN` worst and `SHOWN` best classes (by the
    first column, then by name) are shown, and a last line says where the full record is.

    Args:
        per_class: the record (`per_class_accuracy`).
        path: where the full record was written (named in the last line), or `None`.

    Returns:
        A multi-line string.
    """
    columns, classes = per_class["columns"], per_class["classes"]
    key = columns[0]
    measured = sorted(
        (c for c in classes if c["examples"]), key=lambda c: (c[key], c["name"], c["class"])
    )
    width = max([len("class")] + [len(c["name"]) for c in classes]) + 2
    titles = {"learned": f"learned T={per_class['glimpses']}", "full": "full", CLASSNET: CLASSNET}
    head = f"{'class':<{width}}{'images':>8}" + "".join(f"{titles[c]:>14}" for c in columns)
    lines = ["per-class top-1 accuracy (worst first):", head]

    def line(c):
        cells = "".join(f"{_percent(c[column]):>14}" for column in columns)
        return f"{c['name']:<{width}}{c['examples']:>8}" + cells

    if len(measured) > 4 * SHOWN:
        lines += [line(c) for c in measured[:SHOWN]]
        lines.append(f"... {len(measured) - 2 * SHOWN} classes in between ...")
        lines += [line(c) for c in measured[-SHOWN:]]
    else:
        lines += [line(c) for c in measured]
    absent = len(classes) - len(measured)
    if absent:
        these = "1 class has" if absent == 1 else f"{absent} classes have"
        lines.append(f"({these} no test images)")
    if path:
        lines.append(f"({len(classes)} classes; every class in {path})")
    return "\n".join(lines)
