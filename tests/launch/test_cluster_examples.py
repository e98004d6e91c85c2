"""The cluster launch examples in launch/slurm and launch/kubernetes: their launcher flags exist
and are valid together, and the Kubernetes pod script derives a TF_CONFIG that TensorFlow reads;
the local cluster of launch/multi_worker_local.py runs its workers where it was started and exits
with the code of the worker that caused a failure."""

import json
import os
import re
import subprocess
import sys

import tensorflow as tf

from saccader_tf.cli import launcher
from tests.support.launcher_flags import flag_problem
from tests.support.paths import REPO_ROOT

SBATCH = os.path.join(REPO_ROOT, "launch", "slurm", "train.sbatch")
KUBERNETES = os.path.join(REPO_ROOT, "launch", "kubernetes", "saccader.yaml")


def _launcher_flags(text):
    """`{name: value}` of the `--name=value` flags of the last launcher command in `text`."""
    command = text[text.rindex("python -m saccader_tf.launch") :]
    return dict(re.findall(r"--(\w+)=([^\s\"\\]+)", command))


class ClusterExamplesTest(tf.test.TestCase):
    def test_the_sbatch_script_is_valid_bash_with_valid_flags(self):
        subprocess.run(["bash", "-n", SBATCH], check=True)
        with open(SBATCH) as f:
            flags = _launcher_flags(f.read())
        self.assertEqual(flags["strategy"], "multi_worker")
        self.assertEqual(flags["cluster_resolver"], "slurm")
        self.assertIn('--model_dir="$MODEL_DIR"', open(SBATCH).read())  # a shell variable
        for name in flags:
            self.assertIn(name, launcher.FLAGS)
        typed = {k: launcher.FLAGS[k].parser.parse(v) for k, v in flags.items()}
        self.assertIsNone(flag_problem(**typed))

    def test_the_kubernetes_pods_derive_a_tf_config_per_index(self):
        with open(KUBERNETES) as f:
            text = f.read()
        flags = _launcher_flags(text)
        self.assertEqual(flags["strategy"], "multi_worker")
        script = "\n".join(
            line.strip()
            for line in text.splitlines()
            if re.match(r"\s+(hosts=|export TF_CONFIG)", line)
        )
        self.assertIn("JOB_COMPLETION_INDEX", script)
        output = subprocess.run(
            ["bash", "-c", script + '\necho "$TF_CONFIG"'],
            env=dict(os.environ, WORKERS="2", JOB_COMPLETION_INDEX="1"),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        config = json.loads(output)
        self.assertEqual(
            config,
            {
                "cluster": {"worker": ["saccader-0.saccader:12345", "saccader-1.saccader:12345"]},
                "task": {"type": "worker", "index": 1},
            },
        )
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        os.environ["TF_CONFIG"] = output
        try:
            self.assertEqual((resolver.task_type, resolver.task_id), ("worker", 1))
        finally:
            del os.environ["TF_CONFIG"]

    def test_the_local_cluster_exits_with_the_cause_not_the_peers_that_followed(self):
        from tests.support.local_cluster import multi_worker_local

        exit_code = multi_worker_local.exit_code
        self.assertEqual(exit_code([0, 0]), 0)
        self.assertEqual(exit_code([4, 2]), 2)  # worker 1's bad record; worker 0 followed it
        self.assertEqual(exit_code([1, 4, 2]), 1)  # the first own failure, by worker
        self.assertEqual(exit_code([4, 4]), 4)  # only peers' stops: still a failure
        self.assertEqual(exit_code([0, 143]), 143)

    def test_local_workers_run_where_the_command_was_started(self):
        # A relative --model_dir or folder means the same for the local cluster as for the
        # launcher. The script runs from outside the repository, as a user may start it.
        here = self.get_temp_dir()
        script = os.path.join(REPO_ROOT, "launch", "multi_worker_local.py")
        probe = (
            "import json, os; "
            "print('WORKER', os.getcwd(), json.loads(os.environ['TF_CONFIG'])['task']['index'])"
        )
        result = subprocess.run(
            [sys.executable, "-c", _RUN_PROBE, script, probe],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        lines = sorted(line for line in result.stdout.splitlines() if "WORKER" in line)
        real = os.path.realpath(here)
        self.assertEqual(lines, [f"WORKER {real} 0", f"WORKER {real} 1"])


_RUN_PROBE = """
import runpy, sys
module = runpy.run_path(sys.argv[1])  # as `python launch/multi_worker_local.py` loads it
for code, output in module["run_workers"]([[sys.executable, "-c", sys.argv[2]]] * 2, timeout=50):
    assert code == 0, output
    print(output.strip())
"""
