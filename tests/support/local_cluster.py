"""`launch/multi_worker_local.py` (not a package module) imported for the multi-worker tests, and
`ClusterResults`, the reading of what a test's local cluster reported and saved."""

import importlib.util
import json
import os

import numpy as np

from tests.support.paths import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "multi_worker_local", os.path.join(REPO_ROOT, "launch", "multi_worker_local.py")
)
multi_worker_local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(multi_worker_local)


class ClusterResults:
    """Mixin of a `tf.test.TestCase` whose `setUpClass` ran a local cluster: `cls.results` (the
    `(exit code, output)` of each worker, from `multi_worker_local.run_workers`) and `cls.out_dir`
    (where the workers saved their weights as `.npz` files)."""

    def worker_reports(self):
        """The JSON of each worker's one `RESULT ` line, after checking that it exited with 0."""
        reports = []
        for i, (code, output) in enumerate(self.results):
            self.assertEqual(code, 0, f"worker {i}:\n{output[-4000:]}")
            lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
            self.assertLen(lines, 1, output[-2000:])
            reports.append(json.loads(lines[0][len("RESULT ") :]))
        return reports

    def saved_weights(self, name):
        """The arrays of `out_dir/name`, saved by `np.savez(path, *weights)`, in weight order."""
        with np.load(os.path.join(self.out_dir, name)) as f:
            return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
