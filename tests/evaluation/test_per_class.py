"""Per-class accuracies: hand-made predictions give hand-counted per-class numbers; the table."""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.batch_sums import glimpse_sums
from saccader_tf.evaluation.per_class import (
    CLASS_EXAMPLES,
    format_per_class_table,
    per_class_accuracy,
    per_class_sums,
    with_class_names,
)


def _logits_predicting(predictions, num_classes=4):
    """Logits `[B, K]` whose argmax is `predictions`."""
    return tf.one_hot(predictions, num_classes) * 5.0


class PerClassAccuracyTest(tf.test.TestCase):
    def test_known_predictions_give_known_per_class_numbers(self):
        labels = tf.constant([0, 0, 1, 2, 2, 2])
        # After 1 glimpse the predictions are [0, 1, 1, 0, 2, 2]; the second glimpse's logits
        # are large, so after 2 glimpses they are [0, 0, 3, 2, 2, 0].
        first = _logits_predicting([0, 1, 1, 0, 2, 2])
        second = 10.0 * _logits_predicting([0, 0, 3, 2, 2, 0])
        glimpses = {
            "glimpse_logits": tf.stack([first, second], axis=1),
            "glimpse_boxes": tf.zeros([6, 2, 4], tf.int32),
        }
        full_top1 = tf.constant([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])  # the full image's hits
        totals = {
            CLASS_EXAMPLES: per_class_sums(tf.ones([6]), labels, 4),
            "learned": glimpse_sums(glimpses, labels, None, 24),
            "full": {"class_top1": per_class_sums(full_top1, labels, 4)},
        }
        totals = tf.nest.map_structure(np.asarray, totals)
        record = per_class_accuracy(totals, 2, ("cat", "dog", "eel", "fox"))
        self.assertEqual(record["glimpses"], 2)
        self.assertEqual(record["examples"], 6)
        self.assertEqual(record["columns"], ["learned", "full"])
        classes = record["classes"]
        self.assertEqual([c["name"] for c in classes], ["cat", "dog", "eel", "fox"])
        self.assertEqual([c["examples"] for c in classes], [2, 1, 3, 0])
        # T=2: class 0 both right, class 1 wrong (3), class 2 two of three right.
        self.assertAllClose([c["learned"] for c in classes[:3]], [1.0, 0.0, 2 / 3])
        self.assertAllClose([c["full"] for c in classes[:3]], [1.0, 0.0, 1 / 3])
        self.assertIsNone(classes[3]["learned"])  # no test image of "fox"
        first_glimpse = per_class_accuracy(totals, 1)["classes"]
        self.assertAllClose([c["learned"] for c in first_glimpse[:3]], [0.5, 1.0, 2 / 3])
        self.assertEqual([c["name"] for c in first_glimpse], ["0", "1", "2", "3"])

    def test_without_learned_or_full_there_is_no_record(self):
        self.assertIsNone(per_class_accuracy({CLASS_EXAMPLES: np.ones(3), "random": {}}, 1))

    def test_class_names_replace_the_indices(self):
        record = {"columns": ["full"], "glimpses": 1, "classes": [{"class": 0, "name": "0"}]}
        self.assertEqual(with_class_names(record, ["zebra"])["classes"][0]["name"], "zebra")
        self.assertEqual(with_class_names(record, ["a", "b"]), record)  # wrong count: kept


def _record(accuracies):
    classes = [
        {"class": i, "name": f"c{i:02d}", "examples": 2, "learned": a, "full": 1.0}
        for i, a in enumerate(accuracies)
    ]
    return {
        "glimpses": 3,
        "examples": 2 * len(classes),
        "columns": ["learned", "full"],
        "classes": classes,
    }


class PerClassTableTest(tf.test.TestCase):
    def test_few_classes_all_shown_worst_first(self):
        text = format_per_class_table(_record([0.5, 0.0, 1.0]), "run/per_class_accuracy.json")
        lines = text.splitlines()
        self.assertIn("learned T=3", lines[1])
        self.assertEqual([line.split()[0] for line in lines[2:5]], ["c01", "c00", "c02"])
        self.assertIn("0.00%", lines[2])
        self.assertIn("every class in run/per_class_accuracy.json", lines[-1])

    def test_many_classes_show_the_worst_and_best_five(self):
        accuracies = [i / 29 for i in range(30)][::-1]  # class 29 worst, class 0 best
        lines = format_per_class_table(_record(accuracies), "f.json").splitlines()
        names = [line.split()[0] for line in lines[2:] if line.startswith("c")]
        self.assertEqual(
            names, ["c29", "c28", "c27", "c26", "c25", "c04", "c03", "c02", "c01", "c00"]
        )
        self.assertIn("20 classes in between", "\n".join(lines))
        self.assertIn("(30 classes; every class in f.json)", lines[-1])

    def test_classes_without_test_images_are_counted(self):
        record = _record([0.5, 0.0, 1.0])
        record["classes"][1]["examples"] = 0
        self.assertIn("(1 class has no test images)", format_per_class_table(record))
        record["classes"][2]["examples"] = 0
        self.assertIn("(2 classes have no test images)", format_per_class_table(record))
