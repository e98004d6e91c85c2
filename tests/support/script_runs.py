"""Runs a Python script in a fresh interpreter and reads the one `RESULT <json>` line it prints."""

import json
import os
import subprocess
import sys

from tests.support.paths import REPO_ROOT


def run_result_script(test, script, timeout=300):
    """Runs `script` (`python -c`) from the repository root with TensorFlow's log lines hidden.

    Asserts (through `test`, a `unittest.TestCase`) that it exits 0 and prints exactly one line
    `RESULT <json>`; returns that JSON, parsed.
    """
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        KERAS_BACKEND="tensorflow",
        PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        timeout=timeout,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    test.assertEqual(proc.returncode, 0, proc.stderr[-4000:])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    test.assertEqual(len(lines), 1, proc.stdout[-2000:])
    return json.loads(lines[0][len("RESULT ") :])
