"""`.ci/run`: installs and tests as README.md says, and fails loudly when pytest fails or runs
no test at all. `python3` is replaced by a stub that records its arguments and exits with a
chosen code for pytest, so nothing is installed or run."""

import os
import stat
import subprocess
import tempfile
import unittest

from tests.support.paths import REPO_ROOT

STUB = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
if [ "$2" = pytest ]; then exit "$PYTEST_EXIT"; fi
"""


def run_ci(pytest_exit):
    """Runs `.ci/run` with the stub `python3` first on PATH; returns (result, recorded calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        stub = os.path.join(tmp, "python3")
        with open(stub, "w") as f:
            f.write(STUB)
        os.chmod(stub, os.stat(stub).st_mode | stat.S_IEXEC)
        calls = os.path.join(tmp, "calls")
        env = dict(
            os.environ,
            PATH=tmp + os.pathsep + os.environ["PATH"],
            CALLS=calls,
            PYTEST_EXIT=str(pytest_exit),
        )
        result = subprocess.run(
            [os.path.join(REPO_ROOT, ".ci", "run")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        with open(calls) as f:
            return result, f.read().splitlines()


class CiRunTest(unittest.TestCase):
    def test_runs_the_readme_commands(self):
        result, calls = run_ci(0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(calls, ["-m pip install -e .[test]", "-m pytest -n 2 tests"])
        with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn('python3 -m pip install -e ".[test]"', readme)
        self.assertIn("-m pytest -n 2 tests", readme)

    def test_failing_tests_fail_the_run(self):
        result, _ = run_ci(1)
        self.assertEqual(result.returncode, 1)

    def test_no_test_collected_fails_with_a_message(self):
        result, _ = run_ci(5)
        self.assertEqual(result.returncode, 5)
        self.assertIn("pytest collected no tests (exit code 5)", result.stderr)


if __name__ == "__main__":
    unittest.main()
