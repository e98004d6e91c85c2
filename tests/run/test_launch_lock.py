"""`launch()` holds the model_dir lock while it runs and releases it when it returns: one process
can train, evaluate and export one model_dir in turn, while another process is refused as long as
the first one holds it.

The other process is a small Python process that loads `model_dir/lock.py` alone (no TensorFlow)
and tries to take the lock; it is started from inside the launch (from its export, and from its
evaluation) and once more after the launch returned.
"""

import os
import subprocess
import sys
from unittest import mock

import pytest
import tensorflow as tf

from saccader_tf.export.layout import export_versions
from saccader_tf.model_dir import lock as model_dir_lock
from saccader_tf.model_dir import stage_files
from saccader_tf.run import orchestrator
from saccader_tf.run.settings import RunSettings

_PROBE = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("model_dir_lock", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
try:
    with module.ModelDirLock(sys.argv[2], command="probe"):
        print("free")
except module.ModelDirBusyError as error:
    print("busy: " + str(error))
"""


def probe(model_dir):
    """What another process finds when it tries to lock `model_dir`: `free` or `busy: ...`."""
    return subprocess.run(
        [sys.executable, "-c", _PROBE, model_dir_lock.__file__, model_dir],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


def tiny_settings(model_dir):
    return RunSettings(
        model="bagnet9_tiny",
        image_size=28,
        num_glimpses=2,
        num_targets=2,
        batch_size=8,
        train_examples=16,
        epochs=(1, 1, 1),
        steps=1,
        eval_steps=1,
        eval_policies=("learned",),
        eval_policies_given=True,
        save_every_steps=0,
        verbose=0,
        model_dir=model_dir,
    )


def probing(function, model_dir, seen):
    """`function`, recording what another process finds of the lock before it runs."""

    def probed(*args, **kwargs):
        seen.append(probe(model_dir))
        return function(*args, **kwargs)

    return probed


@pytest.mark.slow  # trains stages 1-3 one step each, compares, exports, evaluates, exports again
class LaunchLockTest(tf.test.TestCase):
    def test_train_then_eval_then_export_in_one_process_another_is_refused(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        settings = tiny_settings(model_dir)
        seen = []
        busy = rf"^busy: {model_dir} is in use by another launcher, process {os.getpid()} "
        with mock.patch.object(
            orchestrator, "export", probing(orchestrator.export, model_dir, seen)
        ):
            orchestrator.launch(settings, "all")  # trains, compares, then exports (probed)
        self.assertLen(seen, 1)
        self.assertRegex(seen[0], busy)
        self.assertEqual(probe(model_dir), "free")  # released when launch() returned
        for stage in (1, 2, 3):
            self.assertTrue(stage_files.stage_finished(model_dir, stage))

        with mock.patch.object(
            orchestrator, "evaluate", probing(orchestrator.evaluate, model_dir, seen)
        ):
            orchestrator.launch(settings, "eval")  # not refused by this process's own lock
        self.assertLen(seen, 2)
        self.assertRegex(seen[1], busy)
        self.assertTrue(os.path.exists(os.path.join(model_dir, "evaluation", "evaluation.json")))

        export_root = os.path.join(model_dir, "export")
        versions = len(export_versions(export_root))
        orchestrator.launch(settings, "export")
        self.assertLen(export_versions(export_root), versions + 1)
        self.assertEqual(probe(model_dir), "free")


class FailingLaunchLockTest(tf.test.TestCase):
    def test_a_failing_launch_releases_the_lock(self):
        model_dir = os.path.join(self.get_temp_dir(), "failing")
        with self.assertRaisesRegex(stage_files.MissingCheckpointError, "stage-1 checkpoint"):
            orchestrator.launch(tiny_settings(model_dir), "2")  # no stage 1 to start from
        self.assertEqual(probe(model_dir), "free")
