"""A stage killed with SIGKILL and started again with the same command continues from its last save.

The worker script trains stage 1 then stage 3 of a tiny Saccader on cluttered MNIST (6 batches per
epoch, 3 epochs = 18 steps per stage, progress saved every 4 steps and after every epoch). With
`KILL_AT=<stage>:<step>` in the environment it SIGKILLs itself right after that step (the last
save before it is at a multiple of 4 or at an epoch end); the same command without it resumes. The
resumed run must end with the same step count and, to 1e-6, the same weights as a run that was never
interrupted, without training any epoch twice. Stage 3 samples glimpses, so it also checks that
the sampler's random state is restored. Each interruption test takes one model_dir through two
interruptions (one in stage 1, one in stage 3) before the run that finishes: the final weights
check both resumes, and each run starts one interpreter less than a test per interruption would.
"""

import json
import os
import signal
import sys
import types

import pytest
import tensorflow as tf

from saccader_tf.model_dir import stage_files as checkpoints
from tests.support.launcher_runs import SCRIPT as _SCRIPT
from tests.support.launcher_runs import report as _report
from tests.support.launcher_runs import run as _run
from tests.support.launcher_runs import stage_reports as _stage_reports
from tests.support.launcher_runs import stopped as _stopped
from tests.support.launcher_runs import weights as _weights
from tests.support.local_cluster import multi_worker_local


def _latest_step(model_dir, stage):
    latest = tf.train.latest_checkpoint(checkpoints.progress_dir(model_dir, stage))
    return int(latest.rsplit("-", 1)[1]) if latest else None


@pytest.mark.slow
class ResumeTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"resume_test_{os.getpid()}")
        cls.reference_dir = os.path.join(cls.root, "reference")
        cls.reference = _run(cls.reference_dir)

    def _assert_same_weights(self, model_dir):
        reference = _weights(self.reference_dir)
        resumed = _weights(model_dir)
        self.assertLen(resumed, len(reference))
        for a, b in zip(resumed, reference):
            self.assertAllClose(a, b, atol=1e-6, rtol=0)

    def test_uninterrupted_reference_trains_every_epoch_once(self):
        report = _report(self.reference.stdout)
        self.assertEqual(
            report["stage1"], {"steps": 18, "resumed_from": 0, "epochs_run": [0, 1, 2]}
        )
        self.assertEqual(
            report["stage3"], {"steps": 18, "resumed_from": 0, "epochs_run": [0, 1, 2]}
        )
        self.assertFalse(
            os.path.exists(checkpoints.progress_dir(self.reference_dir, 1))
        )  # cleaned up

    def _assert_signal_stop(self, run, kill_signal, step):
        self.assertEqual(run.returncode, 128 + getattr(signal, kill_signal), run.stderr[-3000:])
        self.assertIn(f"{kill_signal} received: stopping after the current step", run.stderr)
        self.assertEqual(_stopped(run.stdout), {"step": step, "saved": True})

    def test_killed_in_stage1_then_ctrl_c_in_stage3_each_resume_from_their_save(self):
        # One model_dir through three runs of the same command: SIGKILL after step 10 of stage 1;
        # the rerun continues stage 1 and is stopped by SIGINT in stage 3; the third run finishes.
        model_dir = os.path.join(self.root, "stage1_kill")
        killed = _run(model_dir, "1:10")
        self.assertEqual(killed.returncode, -signal.SIGKILL)
        self.assertEqual(_latest_step(model_dir, 1), 8)  # saved at 4, 6 (epoch end), 8
        self.assertFalse(os.path.exists(checkpoints.stage_weights_path(model_dir, 1)))
        self._assert_changed_settings_refused(model_dir)
        # Steps 9-18 run once more: the rest of epoch 1 and epoch 2; epoch 0 is not trained again.
        # Ctrl-C arrives after step 9 of stage 3: the stage stops after step 10, saving there
        # (the sampler's random state too).
        interrupted = _run(model_dir, "3:9", kill_signal="SIGINT")
        self._assert_signal_stop(interrupted, "SIGINT", 10)
        self.assertEqual(
            _stage_reports(interrupted.stdout)["stage1"],
            {"steps": 18, "resumed_from": 8, "epochs_run": [1, 2]},
        )
        resumed = _run(model_dir)
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        report = _report(resumed.stdout)
        self.assertEqual(report["stage1"], "skipped")
        self.assertEqual(report["stage3"], {"steps": 18, "resumed_from": 10, "epochs_run": [1, 2]})
        self._assert_same_weights(model_dir)

    def _assert_changed_settings_refused(self, model_dir):
        from saccader_tf.model_dir.progress import StageProgress

        with open(os.path.join(checkpoints.progress_dir(model_dir, 1), "plan.json")) as f:
            plan = json.load(f)
        # The plan is checked before anything is restored: no model or optimizer variables needed.
        empty = types.SimpleNamespace(variables=[])
        progress = StageProgress(
            checkpoints.progress_dir(model_dir, 1), empty, empty, dict(plan, epochs=5)
        )
        with self.assertRaisesRegex(ValueError, r"epochs: 3 -> 5.*--retrain"):
            progress.start()

    def test_sigterm_in_stage1_then_killed_in_stage3_each_resume_exactly(self):
        # SIGTERM arrives after step 5 of stage 1 (the last periodic save was at step 4): the stage
        # stops after step 6, saving there, and the rerun trains steps 7-18 only; it is SIGKILLed
        # after step 11 of stage 3, and the third run continues stage 3 from its step-8 save.
        model_dir = os.path.join(self.root, "stage1_term")
        self._assert_signal_stop(_run(model_dir, "1:5", kill_signal="SIGTERM"), "SIGTERM", 6)
        killed = _run(model_dir, "3:11")
        self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr[-3000:])
        self.assertEqual(
            _stage_reports(killed.stdout)["stage1"],
            {"steps": 18, "resumed_from": 6, "epochs_run": [1, 2]},
        )
        resumed = _run(model_dir)
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        report = _report(resumed.stdout)
        self.assertEqual(report["stage1"], "skipped")  # finished before the kill: not re-run
        self.assertEqual(report["stage3"], {"steps": 18, "resumed_from": 8, "epochs_run": [1, 2]})
        self._assert_same_weights(model_dir)


@pytest.mark.slow
class MultiWorkerResumeTest(tf.test.TestCase):
    """Both workers of a 2-worker cluster die in stage 1; restarted, they rejoin from the chief's
    save."""

    def test_restarted_workers_rejoin_from_the_same_save(self):
        root = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), f"resume_mw_{os.getpid()}")
        runs = {}
        for name, kill_at in (("reference", None), ("killed", "1:10"), ("resumed", None)):
            model_dir = os.path.join(root, "reference" if name == "reference" else "run")
            command = [sys.executable, "-c", _SCRIPT, model_dir, "multi_worker", "1"]
            env = {k: v for k, v in os.environ.items() if k != "KILL_AT"}
            if kill_at:
                env["KILL_AT"] = kill_at
            runs[name] = multi_worker_local.run_workers([command, command], timeout=240, env=env)
        # Each worker SIGKILLs itself after step 10; the first to die can leave the other in the
        # tail of that step's last collective (it still reads the dead peer's part), which then
        # fails ("Socket closed") before its own kill. Either way both die after step 10.
        codes = [code for code, _ in runs["killed"]]
        self.assertIn(-signal.SIGKILL, codes, runs["killed"])
        for code, output in runs["killed"]:
            if code != -signal.SIGKILL:
                self.assertNotEqual(code, 0, output[-2000:])
                self.assertRegex(
                    output, r"UnavailableError|Collective ops is aborted", output[-2000:]
                )
        for name in ("reference", "resumed"):
            for code, output in runs[name]:
                self.assertEqual(code, 0, output[-3000:])
        reports = [_report(output) for _, output in runs["resumed"]]
        for report in reports:  # every worker restored the chief's step-8 save
            self.assertEqual(
                report["stage1"], {"steps": 18, "resumed_from": 8, "epochs_run": [1, 2]}
            )
        # BatchNorm moving statistics are per worker under MultiWorkerMirroredStrategy (each worker
        # averages its own batches); only the chief's are saved, so a restarted worker continues
        # with the chief's. Everything else is identical on every worker.
        from saccader_tf.models.saccader.saccader import Saccader

        model = Saccader(
            num_classes=10, image_size=28, variant="bagnet9_tiny", input_channels=1, num_glimpses=2
        )
        model.build()
        local = ["moving_" in w.path for w in model.weights]
        self.assertEqual(sum(local), 2 * sum("moving_mean" in w.path for w in model.weights))
        for task in (0, 1):
            resumed = _weights(os.path.join(root, "run"), task)
            reference = _weights(os.path.join(root, "reference"), task)
            for a, b, is_local in zip(resumed, reference, local):
                if task == 0 or not is_local:
                    self.assertAllClose(a, b, atol=1e-6, rtol=0)
