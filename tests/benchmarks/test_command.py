"""`python -m benchmarks --quick`, run as a user runs it: a fresh interpreter in the repository root
(where `benchmarks/` is found), with the entry point's environment (`prepare_environment`) and no
oneDNN setting of the test suite. The rows of every part, and the race (`--race`), are checked in
process (tests/benchmarks/test_benchmark.py, tests/benchmarks/test_race.py)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import pytest

from tests.support.paths import REPO_ROOT


def run_benchmarks(*args):
    """Runs `python -m benchmarks ARGS` in the repository root without `TF_ENABLE_ONEDNN_OPTS`
    (the entry point sets it); returns the `CompletedProcess`."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
class CommandTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_quick_speed_table(self):
        # Every part's rows are checked in process (tests/benchmarks/test_benchmark.py); the command
        # runs the peak matmul and the serving part and prints every other row as skipped.
        output = os.path.join(self.tmp.name, "bench.json")
        skip = "--skip=default,profile,stages,bagnet77,pipeline,jpeg,folder,gpu_paths"
        run = run_benchmarks("--quick", skip, f"--output={output}")
        self.assertEqual(run.returncode, 0, run.stderr[-3000:])
        # The table starts with the command line.
        self.assertIn(
            f"\npython -m benchmarks --quick {skip} --output={output}\n", "\n" + run.stdout
        )
        with open(output) as f:
            report = json.load(f)
        self.assertEqual(report["header"]["TF_ENABLE_ONEDNN_OPTS"], "1")  # prepare_environment
        self.assertEqual(len(report["rows"]), 25)  # every row of the table
        values = {row["key"]: row["value"] for row in report["rows"]}
        measured = {key for key, value in values.items() if value != "skipped"}
        self.assertEqual(measured, {"peak_matmul", "serving/batch1", "serving/batch32"})
        self.assertIn("[benchmark +", run.stderr)


if __name__ == "__main__":
    unittest.main()
