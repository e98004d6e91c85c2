"""`python -m benchmarks --race`: the quick race prints every contender; table maths."""

import io
import json
import os
import tempfile

import numpy as np
import tensorflow as tf

from benchmarks import cli as benchmark
from benchmarks.race import BudgetCosineDecay, top1_error
from benchmarks.race_contenders import CONTENDER_KEYS, QUICK_SIZES, make_contenders
from benchmarks.race_report import error_at, format_race_table, time_to_error

QUICK_LABELS = [contender.label for contender in make_contenders(QUICK_SIZES)]


def _run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    benchmark.main(argv, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


class QuickRaceTest(tf.test.TestCase):
    """One quick race (tiny models, eager steps, 0.2 s each) shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.png = os.path.join(cls.tmp.name, "plots", "race.png")
        json_path = os.path.join(cls.tmp.name, "race.json")
        cls.stdout, cls.stderr = _run(
            ["--race", "--quick", f"--race_plot={cls.png}", f"--output={json_path}"]
        )
        with open(json_path) as f:
            cls.report = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def test_prints_every_contender_row(self):
        rows = [
            line
            for line in self.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")
        ]
        self.assertLen(rows, len(CONTENDER_KEYS))
        for row, label in zip(rows, QUICK_LABELS):
            self.assertTrue(row.startswith(f"| {label} | "), msg=row)
            self.assertLen(row.split(" | "), 12)  # 6 + 3 error columns + 3 "time to" columns
        self.assertEqual([c["key"] for c in self.report["contenders"]], list(CONTENDER_KEYS))

    def test_header_names_budget_machine_and_kernels(self):
        for text in (
            "0.2 s of training per contender",
            "CPU cores",
            "TF_ENABLE_ONEDNN_OPTS=",
            "XLA off",
            "precision float32",
        ):
            self.assertIn(text, self.stdout)

    def test_errors_in_unit_interval_and_time_points_increase(self):
        for result in self.report["contenders"]:
            points = result["points"]
            seconds = [point["seconds"] for point in points]
            self.assertEqual(points[0]["phase"], "untrained")
            self.assertEqual(seconds[0], 0.0)
            self.assertTrue(all(b > a for a, b in zip(seconds, seconds[1:])), msg=seconds)
            for point in points:
                self.assertBetween(point["error"], 0.0, 1.0)
                # 32 test images: every error is a whole number of wrong images.
                self.assertAllClose(point["error"] * 32, round(point["error"] * 32))
            self.assertEqual(points[-1]["steps"], result["steps"])
            self.assertEqual(sum(phase["steps"] for phase in result["phases"]), result["steps"])
            self.assertTrue(all(phase["steps"] >= 1 for phase in result["phases"]))
            # A contender trains until its clock passes the budget (each phase its share).
            self.assertGreaterEqual(result["train_seconds"], 0.999 * result["budget_s"])
        phases = [[p["name"] for p in r["phases"]] for r in self.report["contenders"]]
        self.assertEqual(phases, [["stage 1", "stage 2", "stage 3"]] * 3 + [["train"]] * 2)

    def test_png_is_written(self):
        with open(self.png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertIn(f"plot: {self.png}", self.stdout)


class RaceReportTest(tf.test.TestCase):
    POINTS = [
        {"seconds": 0.0, "error": 0.9},
        {"seconds": 31.0, "error": 0.4},
        {"seconds": 62.0, "error": 0.15},
        {"seconds": 120.5, "error": 0.12},
    ]

    def test_error_at_takes_the_first_evaluation_at_or_after_the_time(self):
        self.assertEqual(error_at(self.POINTS, 0.0), 0.9)
        self.assertEqual(error_at(self.POINTS, 30.0), 0.4)
        self.assertEqual(error_at(self.POINTS, 60.0), 0.15)
        self.assertEqual(error_at(self.POINTS, 120.0), 0.12)

    def test_time_to_error(self):
        self.assertEqual(time_to_error(self.POINTS, 0.5), 31.0)
        self.assertEqual(time_to_error(self.POINTS, 0.15), 62.0)
        self.assertIsNone(time_to_error(self.POINTS, 0.1))

    def test_table_row(self):
        result = {
            "label": "x",
            "params": 1234,
            "steps": 56,
            "train_seconds": 120.54,
            "warmup_seconds": 20.04,
            "eval_seconds": 7.25,
            "points": self.POINTS,
        }
        table = format_race_table([result], budget_s=120, evaluations=4, targets=[0.5, 0.1])
        head, _, row = table.splitlines()
        self.assertEqual(
            head,
            "| contender | params | steps | train s | warm-up s | eval s "
            "| error at 0 s | error at 30 s | error at 60 s | error at 90 s "
            "| error at 120 s (end) | time to ≤ 50.0% | time to ≤ 10.0% |",
        )
        self.assertEqual(
            row,
            "| x | 1,234 | 56 | 120.5 | 20.0 | 7.2 | 90.0% | 40.0% | 15.0% "
            "| 12.0% | 12.0% | 31 s | — |",
        )


class RaceMachineryTest(tf.test.TestCase):
    def test_budget_cosine_decay(self):
        fraction = tf.Variable(0.0)
        schedule = BudgetCosineDecay(0.002, fraction)
        for spent, expected in ((0.0, 0.002), (0.5, 0.001), (1.0, 0.0), (1.7, 0.0), (-0.2, 0.002)):
            fraction.assign(spent)
            self.assertAllClose(schedule(tf.constant(5)), expected, atol=1e-9)

    def test_top1_error_counts_wrong_predictions(self):
        logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]], np.float32)
        dataset = tf.data.Dataset.from_tensor_slices((logits, np.array([0, 0, 1]))).batch(2)
        self.assertAllClose(top1_error(lambda x: x, dataset), 2 / 3)

    def test_bad_race_flags_are_refused(self):
        for flag, message in (
            ("--race_budget_s=0", "Received: --race_budget_s=0"),
            ("--race_contenders=saccader,gpt", "Received: --race_contenders="),
            ("--race_targets=0.5,2", "Received: --race_targets=0.5,2"),
            ("--race_evaluations=0", "Received: --race_evaluations=0"),
        ):
            stderr = io.StringIO()
            with self.assertRaises(SystemExit) as raised, _redirect_stderr(stderr):
                benchmark.main(["--race", flag], stdout=io.StringIO(), stderr=stderr)
            self.assertEqual(raised.exception.code, 2)
            self.assertIn(message, stderr.getvalue())


def _redirect_stderr(stream):
    import contextlib

    return contextlib.redirect_stderr(stream)
