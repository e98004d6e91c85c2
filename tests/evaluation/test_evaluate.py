"""`evaluate_model`: rows, caps, coverage, hit rates and the occlusion check against the model's
own calls and hand-made references; the result files."""

import csv
import json
import tempfile
import types

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation import occlusion
from saccader_tf.evaluation.checks import check_occlusion, check_policies
from saccader_tf.evaluation.evaluate import evaluate_model, format_table, write_results
from saccader_tf.models import Saccader
from tests.support.sources import array_source


def _source(images, labels, eval_boxes=None, batch=4):
    return array_source(images, labels, 3, batch=batch, eval_boxes=eval_boxes)


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

    def test_per_class_accuracies_match_the_models_own_calls(self):
        per_class = self.result.per_class  # at the largest T evaluated, 3
        logits = self.model(self.images, num_glimpses=3)
        learned = logits["logits"].numpy().argmax(-1) == self.labels
        full = logits["full_logits"].numpy().argmax(-1) == self.labels
        self.assertEqual(per_class["glimpses"], 3)
        for record in per_class["classes"]:
            mine = self.labels == record["class"]
            self.assertEqual(record["examples"], int(mine.sum()))
            if mine.any():
                self.assertAllClose(record["learned"], learned[mine].mean())
                self.assertAllClose(record["full"], full[mine].mean())

    def test_full_row_and_top5(self):
        full = self.model(self.images, num_glimpses=1)["full_logits"].numpy()
        self.assertAllClose(
            self.result.row("full")["top1"], np.mean(full.argmax(-1) == self.labels)
        )
        for row in self.result.rows:
            self.assertEqual(row["top5"], 1.0)  # K = 3 <= 5
            self.assertGreaterEqual(row["top5"], row["top1"])

    def test_paired_columns_match_the_models_own_calls(self):
        full = self.model(self.images, num_glimpses=1)["full_logits"].numpy().argmax(-1)
        full_hits = full == self.labels
        for k in (1, 2, 3):
            logits = self.model(self.images, num_glimpses=k)["logits"].numpy()
            learned_hits = logits.argmax(-1) == self.labels
            self.assertIsNone(self.result.row("learned", k)["p_value"])
            ordered = self.result.row("ordered_logits", k)
            self.assertBetween(ordered["p_value"], 0.0, 1.0)
            self.assertLessEqual(ordered["only_learned"], int(np.sum(learned_hits)))
        # `full` is paired with the learned policy at the largest T (3).
        row = self.result.row("full")
        self.assertEqual(row["only_learned"], int(np.sum(learned_hits & ~full_hits)))
        self.assertEqual(row["only_this"], int(np.sum(~learned_hits & full_hits)))
        line = [x for x in format_table(self.result).splitlines() if x.startswith("full ")][0]
        self.assertTrue(
            line.endswith(f"{row['only_learned']:>14}{row['only_this']:>11}{row['p_value']:>8.4f}"),
            line,
        )

    def test_rows_and_caps(self):
        self.assertEqual(self.result.max_glimpses, 3)
        self.assertEqual(self.result.examples, 6)
        self.assertLen(self.result.rows, 3 * 3 + 1)
        self.assertEqual([r["glimpses"] for r in self.result.occlusion], [1, 2, 3])
        self.assertEqual(check_policies(self.model, 20, ("learned",)), 16)

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
            [
                *("policy", "network", "glimpses", "top1", "top5", "coverage", "hit_first"),
                *("hit_any", "only_learned", "only_this", "p_value"),
            ],
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
        # 1 of the 2 batches (4 + 2 images), the middle one of the split: the second.
        self.assertEqual(result.examples, 2)
        self.assertIsNone(result.row("learned", 2)["hit_first"])
        self.assertEqual(result.occlusion, ())
        with self.assertRaisesRegex(ValueError, "max_glimpses=0"):
            evaluate_model(self.model, source, max_glimpses=0)
        with self.assertRaisesRegex(ValueError, "policy='nope'"):
            evaluate_model(self.model, source, policies=("nope",))


class OcclusionArgumentTest(tf.test.TestCase):
    def test_a_model_without_bagnet_cannot_judge_the_occlusion_check(self):
        no_bagnet = types.SimpleNamespace()  # e.g. a DRAM: no `representation`
        with self.assertRaisesRegex(ValueError, r"occlusion_glimpses=\(\)"):
            check_occlusion(no_bagnet, (1, 3))
        check_occlusion(no_bagnet, ())  # no check asked: nothing to judge
