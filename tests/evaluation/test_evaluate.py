"""Policy comparison: the numbers agree with the model's own calls."""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.evaluate import format_policy_table, policy_accuracies
from saccader_tf.models import Saccader


class PolicyAccuraciesTest(tf.test.TestCase):
    def test_learned_and_full_rows_match_the_models_own_predictions(self):
        model = Saccader(
            num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=1
        )
        rng = np.random.default_rng(0)
        images = rng.normal(size=(10, 24, 24, 1)).astype("float32")
        out = model(images, num_glimpses=2)
        # Labels chosen so that the learned and the full-image predictions score differently.
        labels = out["logits"].numpy().argmax(-1)
        labels[:4] = (labels[:4] + 1) % 3
        dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
        result = policy_accuracies(
            model, dataset, num_glimpses=2, policies=("learned", "full", "random")
        )
        self.assertEqual(result["examples"], 10)
        self.assertNotIn("stage1", result)  # no stage-1 network given
        self.assertAllClose(result["final"]["learned"], 0.6)
        full = np.mean(out["full_logits"].numpy().argmax(-1) == labels)
        self.assertAllClose(result["final"]["full"], full)
        table = format_policy_table(result, 2)
        self.assertIn("learned         final            2    60.00%  40.00%", table)
        self.assertIn("(10 test images)", table)

    def test_empty_dataset_is_an_error(self):
        model = Saccader(num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1)
        empty = tf.data.Dataset.from_tensor_slices(
            (np.zeros((0, 24, 24, 1), "float32"), np.zeros((0,), "int64"))
        ).batch(2)
        with self.assertRaisesRegex(ValueError, "empty"):
            policy_accuracies(model, empty)


# --------------------------------------------------------------------------- evaluate_model
import csv  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402

from saccader_tf.data.source import DataSource, fixed_epochs  # noqa: E402
from saccader_tf.evaluation import evaluate as evaluate_lib  # noqa: E402
from saccader_tf.evaluation import occlusion  # noqa: E402
from saccader_tf.evaluation.evaluate import evaluate_model, format_table, write_results  # noqa: E402


def _source(images, labels, eval_boxes=None, batch=4):
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
    return DataSource(
        train_epoch=fixed_epochs(dataset),
        eval=dataset,
        num_classes=3,
        image_size=24,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="test",
        eval_boxes=eval_boxes,
    )


class EvaluateModelTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = Saccader(
            num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=1
        )
        rng = np.random.default_rng(0)
        cls.images = rng.normal(size=(6, 24, 24, 1)).astype("float32")
        cls.labels = rng.integers(0, 3, size=6).astype("int32")
        # Images 0, 2, 4: the object is the whole image (every glimpse hits); 1, 3, 5: outside it.
        boxes = np.array([[0, 0, 24, 24], [30, 30, 31, 31]] * 3, np.int32)
        # Batches of 3: one trace of the per-batch function.
        cls.result = evaluate_model(
            cls.model,
            _source(cls.images, cls.labels, boxes, batch=3),
            max_glimpses=3,
            occlusion_glimpses=(1, 2, 40),
        )

    def test_learned_rows_match_the_models_own_calls(self):
        for k in (1, 2, 3):
            logits = self.model(self.images, num_glimpses=k)["logits"].numpy()
            expected = np.mean(logits.argmax(-1) == self.labels)
            self.assertAllClose(self.result.row("learned", k)["top1"], expected)

    def test_full_row_and_top5(self):
        full = self.model(self.images, num_glimpses=1)["full_logits"].numpy()
        self.assertAllClose(
            self.result.row("full")["top1"], np.mean(full.argmax(-1) == self.labels)
        )
        for row in self.result.rows:
            self.assertEqual(row["top5"], 1.0)  # K = 3 <= 5
            self.assertGreaterEqual(row["top5"], row["top1"])

    def test_rows_and_caps(self):
        self.assertEqual(self.result.max_glimpses, 3)
        self.assertEqual(self.result.examples, 6)
        self.assertLen(self.result.rows, 3 * 3 + 1)
        self.assertEqual([r["glimpses"] for r in self.result.occlusion], [1, 2, 3])
        self.assertEqual(evaluate_lib._check_arguments(self.model, 20, ("learned",)), 16)

    def test_coverage(self):
        # Every receptive field is 9 x 9 inside the 24 x 24 image; all 16 cells cover
        # rows/cols 0..20.
        for policy in ("learned", "random", "ordered_logits"):
            self.assertAllClose(self.result.row(policy, 1)["coverage"], 81 / 576)
        self.assertAllClose(self.result.row("full")["coverage"], 21 * 21 / 576)

    def test_hit_rates(self):
        for t in (1, 2, 3):
            self.assertAllClose(self.result.row("learned", t)["hit_first"], 0.5)
            self.assertAllClose(self.result.row("learned", t)["hit_any"], 0.5)
        self.assertIsNone(self.result.row("full")["hit_any"])

    def test_occlusion_rows_match_blanking_by_hand(self):
        cells = self.model(self.images, num_glimpses=3)["cells"]
        for t in (1, 3):
            blanked = occlusion.blank_boxes(self.images, self.model.boxes(cells[:, :t]), 0.0)
            logits = self.model.representation(blanked, training=False)["logits"].numpy()
            row = [r for r in self.result.occlusion if r["glimpses"] == t][0]
            self.assertAllClose(row["chosen_top1"], np.mean(logits.argmax(-1) == self.labels))
            self.assertBetween(row["random_top1"], 0.0, 1.0)

    def test_table_and_files(self):
        table = format_table(self.result)
        self.assertIn("learned", table)
        self.assertIn("occlusion check", table)
        self.assertIn("(6 test images)", table)
        with tempfile.TemporaryDirectory() as directory:
            paths = write_results(self.result, directory)
            with open(paths["csv"]) as f:
                rows = list(csv.DictReader(f))
            with open(paths["json"]) as f:
                data = json.load(f)
        self.assertEqual(
            list(rows[0]),
            ["policy", "network", "glimpses", "top1", "top5", "coverage", "hit_first", "hit_any"],
        )
        self.assertEqual({r["network"] for r in rows}, {"final"})
        self.assertEqual(data["occlusion_network"], "final")  # no stage-1 network given
        self.assertLen(rows, 10)
        self.assertEqual(
            {r["policy"] for r in rows}, {"learned", "ordered_logits", "random", "full"}
        )
        full = [r for r in rows if r["policy"] == "full"][0]
        self.assertEqual((full["glimpses"], full["hit_any"]), ("all", ""))
        self.assertEqual(data["examples"], 6)
        self.assertLen(data["rows"], 10)
        self.assertLen(data["occlusion"], 3)

    def test_max_batches_and_bad_arguments(self):
        source = _source(self.images, self.labels)
        result = evaluate_model(
            self.model,
            source,
            max_glimpses=2,
            policies=("learned",),
            max_batches=1,
            occlusion_glimpses=(),
        )
        self.assertEqual(result.examples, 4)
        self.assertIsNone(result.row("learned", 2)["hit_first"])
        self.assertEqual(result.occlusion, ())
        with self.assertRaisesRegex(ValueError, "max_glimpses=0"):
            evaluate_model(self.model, source, max_glimpses=0)
        with self.assertRaisesRegex(ValueError, "policy='nope'"):
            evaluate_model(self.model, source, policies=("nope",))


class MetricAndOcclusionTest(tf.test.TestCase):
    def test_correct_predictions(self):
        logits = tf.constant([[0.0, 2.0, 1.0, 3, 4, 5, 6], [9.0, 1.0, 0.0, 0, 0, 0, 0]])
        top1, top5 = evaluate_lib.correct_predictions(logits, tf.constant([1, 0]))
        self.assertAllEqual(top1, [0.0, 1.0])
        self.assertAllEqual(top5, [1.0, 1.0])  # label 1 of row 0 has rank 4 (5 larger: no)
        _, top5 = evaluate_lib.correct_predictions(logits, tf.constant([0, 0]))
        self.assertAllEqual(top5, [0.0, 1.0])  # logit 0.0 has 6 larger classes

    def test_glimpse_sums_by_hand(self):
        glimpses = {
            "glimpse_boxes": tf.constant(
                [[[0, 0, 6, 12], [0, 0, 12, 12]], [[20, 20, 24, 24], [0, 0, 2, 2]]]
            ),
            "glimpse_logits": tf.constant([[[1.0, 0, 0], [0, 5, 0]], [[0, 1.0, 0], [0, 0, 3]]]),
        }
        objects = tf.constant([[5, 5, 8, 8], [0, 0, 4, 4]])
        sums = evaluate_lib._glimpse_sums(glimpses, tf.constant([0, 1]), objects, 24)
        self.assertAllClose(sums["coverage"], [(72 + 16) / 576, (144 + 20) / 576])
        self.assertAllClose(sums["top1"], [2.0, 0.0])  # T=2: image 0 predicts 1, image 1 predicts 2
        self.assertAllClose(sums["hit_first"], 1.0)  # only image 0's first box meets its object
        self.assertAllClose(sums["hit_any"], [1.0, 2.0])

    def test_blank_boxes_sets_exactly_the_union(self):
        images = np.arange(2 * 6 * 7 * 2, dtype="float32").reshape(2, 6, 7, 2) + 1
        boxes = tf.constant([[[1, 2, 3, 5], [2, 4, 4, 6]], [[0, 0, 1, 1], [0, 0, 1, 1]]])
        out = occlusion.blank_boxes(images, boxes, fill_value=[-1.0, -2.0]).numpy()
        mask = np.zeros((2, 6, 7), bool)
        mask[0, 1:3, 2:5] = mask[0, 2:4, 4:6] = mask[1, 0, 0] = True
        self.assertAllEqual(out[~mask], images[~mask])
        self.assertAllEqual(out[mask], np.tile([[-1.0, -2.0]], [mask.sum(), 1]))

    def test_random_cells_are_distinct_seeded_and_prefix_stable(self):
        seed = tf.constant([3, 4])
        cells = occlusion.random_cells(5, 16, 16, seed).numpy()
        self.assertAllEqual(np.sort(cells, axis=1), np.tile(np.arange(16), [5, 1]))
        self.assertAllEqual(occlusion.random_cells(5, 16, 3, seed), cells[:, :3])

    def test_black_value(self):
        source = _source(np.zeros((2, 24, 24, 1), "float32"), np.zeros(2, "int32"))
        self.assertAllClose(occlusion.black_value(source), [0.0])
