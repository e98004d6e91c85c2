"""`--strategy=multi_worker`: two worker processes on 127.0.0.1 train every stage like one process.

The worker script runs in 2 processes of a local `MultiWorkerMirroredStrategy` cluster (started by
`launch/multi_worker_local.py`, free ports, killed after a timeout). Each worker:

1. calls plain `fit` (no shim) under the strategy and records how it ends (the test compares it
   with what the behaviour probe of `multi_worker.keras_fit_bugs` says about this Keras);
2. trains stages 1, 2, 3 with `train_stage(strategy=multi_worker)` for 2 steps on the same 2 global
   batches of 8, from the same weights, and the chief also trains a single-process copy with
   `train_stage` (default strategy) on the same batches. Every BatchNormalization is non-trainable
   (per-replica batch statistics are a known, accepted difference) and stage 3 uses the learned
   policy's greedy (argmax) choice, since sampled cells legitimately differ per replica;
3. samples cells with the learned policy on the same images in both workers (replica id folded into
   the seed: they must differ).
"""

import os
import subprocess
import sys
import tempfile
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.training import multi_worker
from tests.support.local_cluster import REPO_ROOT, ClusterResults, multi_worker_local

_WORKER_SCRIPT = r"""
import json, os, sys, time, types
_t0 = time.time()
import numpy as np
import tensorflow as tf
import keras

from saccader_tf.training import multi_worker
from saccader_tf.training.distribute import make_strategy
from saccader_tf.data.source import fixed_epochs
from saccader_tf.training import RepresentationTrainer
from saccader_tf.training.train_stage import train_stage
from saccader_tf.run.settings import StageSettings
from tests.support.comparable_models import greedy_saccader, tiny_saccader

out_dir = sys.argv[1]
strategy = make_strategy("multi_worker")
_t1 = time.time()
task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
report = {"task": task, "replicas": strategy.num_replicas_in_sync, "chief": multi_worker.is_chief(strategy)}


def make_model(greedy=True):
    keras.utils.set_random_seed(0)
    return greedy_saccader() if greedy else tiny_saccader()


rng = np.random.default_rng(0)
images = rng.normal(size=(16, 24, 24, 1)).astype("float32")

# 1. Plain `fit` (no shim), whatever the probe says.
report["probed_bugs"] = list(multi_worker.keras_fit_bugs())
with strategy.scope():
    plain = RepresentationTrainer(make_model(greedy=False))
    plain.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
try:
    plain.fit(images, np.zeros(16, "int32"), batch_size=8, epochs=1, verbose=0, shuffle=False)
    report["plain_fit"] = "ok"
except Exception as error:  # the upstream failure
    report["plain_fit"] = f"{type(error).__name__}: {str(error)[:300]}"

# 2. The three stages, multi-worker vs one process.
with strategy.scope():
    distributed = make_model()
single = make_model()
initial = distributed.get_weights()
single.set_weights(initial)
predictions = np.argmax(single(images, training=True)["logits"].numpy(), axis=-1)
labels = (predictions + 1) % 5
labels[[0, 5, 6, 8, 9, 10, 11]] = predictions[[0, 5, 6, 8, 9, 10, 11]]  # 3/8 and 4/8 right
labels = labels.astype("int32")
data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
source = types.SimpleNamespace(train_epoch=fixed_epochs(data), eval=data)
model_dir = os.path.join(out_dir, "model")


def train(model, stage, run_strategy, write):
    model.set_weights(initial)
    settings = StageSettings(epochs=1, steps_per_epoch=2, eval_steps=1, learning_rate=0.1,
                             weight_decay=1e-2, num_targets=6, optimizer="sgd", verbose=0)
    return train_stage(stage, model, source, settings, model_dir=model_dir, strategy=run_strategy,
                       write_checkpoint=write)


for stage in (1, 2, 3):
    start = time.time()
    report[f"stage{stage}_steps"] = train(distributed, stage, strategy, True)["steps"]
    report[f"stage{stage}_seconds"] = time.time() - start
    np.savez(os.path.join(out_dir, f"worker{task}_stage{stage}.npz"), *distributed.get_weights())
if task == 0:
    np.savez(os.path.join(out_dir, "initial.npz"), *initial)
# 3. The learned policy samples different cells in each worker for the same images.
with strategy.scope():
    learned = make_model(greedy=False)
cells = strategy.run(lambda x: learned(x, training=True)["cells"], args=(tf.constant(images),))
report["cells"] = strategy.experimental_local_results(cells)[0].numpy().tolist()
# One-process references, shared out between the workers (no collectives from here on).
start = time.time()
for stage in (1, 3) if task == 0 else (2,):
    train(single, stage, None, False)
    np.savez(os.path.join(out_dir, f"single_stage{stage}.npz"), *single.get_weights())
report["reference_seconds"] = time.time() - start

report["import_seconds"], report["total_seconds"] = _t1 - _t0, time.time() - _t0
print("RESULT " + json.dumps(report), flush=True)
# The chief's references take longer than worker 1's: without the barrier worker 1 would leave
# first and the chief's coordination service would log StartAbort (stopped heartbeats).
multi_worker.wait_for_every_worker(strategy)
"""  # noqa: E501 (a script run in a subprocess)


@pytest.mark.slow
class MultiWorkerTest(ClusterResults, tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.out_dir = tempfile.mkdtemp(prefix="multi_worker_test_")
        command = [sys.executable, "-c", _WORKER_SCRIPT, cls.out_dir]
        cls.results = multi_worker_local.run_workers([command, command], timeout=200)
        for code, output in cls.results:
            print(
                next(
                    (line for line in output.splitlines() if line.startswith("RESULT ")),
                    output[-3000:],
                )
            )

    def test_workers_match_one_process_in_every_stage(self):
        reports = self.worker_reports()
        self.assertEqual([r["replicas"] for r in reports], [2, 2])
        self.assertEqual([r["chief"] for r in reports], [True, False])
        initial = self.saved_weights("initial.npz")
        for stage in (1, 2, 3):
            self.assertEqual([r[f"stage{stage}_steps"] for r in reports], [2, 2])
            chief, other = (
                self.saved_weights(f"worker0_stage{stage}.npz"),
                self.saved_weights(f"worker1_stage{stage}.npz"),
            )
            single = self.saved_weights(f"single_stage{stage}.npz")
            update = max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))
            self.assertGreater(update, 1e-3, f"stage {stage}: the steps did nothing")
            for a, b, c in zip(chief, other, single):
                self.assertAllClose(a, b, atol=1e-5, rtol=0, msg=f"stage {stage}: workers differ")
                self.assertAllClose(
                    a, c, atol=1e-5, rtol=0, msg=f"stage {stage}: differs from one process"
                )

    def test_workers_end_together_without_start_abort(self):
        # Worker 1 finishes its share long before the chief; the end-of-run barrier keeps the
        # coordination service from declaring it dead (an "E0000 ... StartAbort" line).
        self.worker_reports()
        for i, (_, output) in enumerate(self.results):
            self.assertNotIn("StartAbort", output, f"worker {i}")
            self.assertNotIn("unhealthy", output, f"worker {i}")

    def test_only_the_chief_writes(self):
        self.worker_reports()
        model_dir = os.path.join(self.out_dir, "model")
        written = sorted(os.listdir(model_dir))
        for stage in (1, 2, 3):
            self.assertIn(f"stage{stage}", written)
        self.assertTrue(os.path.isdir(os.path.join(model_dir, "logs", "stage3")))
        # Worker 1 ran train_stage with write_checkpoint=True: it must not have written anything.
        # (Both share model_dir; a second writer would show up as a second TensorBoard run file.)
        events = os.listdir(os.path.join(model_dir, "logs", "stage1", "train"))
        self.assertLen(events, 1, events)

    def test_learned_policy_samples_differ_between_workers(self):
        cells = [np.array(r["cells"]) for r in self.worker_reports()]
        self.assertEqual(cells[0].shape, cells[1].shape)
        self.assertFalse(np.array_equal(cells[0], cells[1]), "both workers sampled the same cells")

    def test_the_probe_agrees_with_plain_fit(self):
        """The behaviour probe that enables the shim says what plain `fit` does on this cluster:
        fails (the upstream bug) where it sees a bug, trains where it sees none."""
        for report in self.worker_reports():
            if any(report["probed_bugs"]):
                self.assertIn("PerReplica", report["plain_fit"], "the probe saw a bug fit lacks")
            else:
                self.assertEqual(report["plain_fit"], "ok", "fit fails but the probe saw no bug")


class _StandInMultiWorker(tf.distribute.MultiWorkerMirroredStrategy):
    """Passes `is_multi_worker` without a cluster (no constructor run)."""

    def __init__(self):
        self._extended = types.SimpleNamespace(_num_workers=2)


class BehaviourProbeTest(tf.test.TestCase):
    def test_installed_keras_bugs_and_the_shim_removes_them(self):
        from keras.src.backend.tensorflow import trainer

        bugs = multi_worker.keras_fit_bugs()
        self.assertEqual(multi_worker.needs_fit_shim(), any(bugs))
        if not any(bugs):
            self.skipTest(f"Keras {keras.__version__} shows neither bug: the shim stays off")
        original = trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build
        with multi_worker.fit_compat(_StandInMultiWorker()):
            # Inside the block the live Keras functions no longer misbehave.
            self.assertEqual(multi_worker.keras_fit_bugs(), (False, False))
        self.assertEqual(multi_worker.keras_fit_bugs(), bugs)  # restored afterwards
        self.assertEqual(
            (trainer.reduce_per_replica, trainer.TensorFlowTrainer._maybe_symbolic_build), original
        )
        with multi_worker.fit_compat(tf.distribute.get_strategy()):  # one process: untouched
            self.assertEqual(multi_worker.keras_fit_bugs(), bugs)

    def test_probe_on_simulated_keras(self):
        # A trainer module that reduces a scalar on axis 0 and the whole batch (the bugs) ...
        def broken_reduce(values, strategy, reduction):
            return {k: strategy.reduce("MEAN", v, axis=0) for k, v in values.items()}

        class BrokenTrainer:
            def _maybe_symbolic_build(self, iterator=None, data_batch=None):
                for _, _, it in iterator:
                    data_batch = self.distribute_strategy.reduce("MEAN", next(it), axis=None)
                    break
                self._symbolic_build(data_batch=data_batch)

        broken = types.SimpleNamespace(
            reduce_per_replica=broken_reduce,
            TensorFlowTrainer=BrokenTrainer,
            _collective_all_reduce_multi_worker=lambda strategy: True,
        )
        self.assertEqual(multi_worker.keras_fit_bugs(broken), (True, True))
        # ... and the same module with the shim's two functions in their place.
        fixed = types.SimpleNamespace(
            reduce_per_replica=multi_worker.fixed_reduce_per_replica(broken_reduce, broken),
            TensorFlowTrainer=type(
                "FixedTrainer",
                (BrokenTrainer,),
                {
                    "_maybe_symbolic_build": multi_worker.fixed_symbolic_build(
                        BrokenTrainer._maybe_symbolic_build
                    )
                },
            ),
        )
        self.assertEqual(multi_worker.keras_fit_bugs(fixed), (False, False))
        # A Keras without these functions: nothing to patch, no shim.
        self.assertEqual(multi_worker.keras_fit_bugs(types.SimpleNamespace()), (False, False))

    def test_single_process_strategies_are_chief_and_untouched(self):
        for strategy in (tf.distribute.get_strategy(), tf.distribute.OneDeviceStrategy("/cpu:0")):
            self.assertTrue(multi_worker.is_chief(strategy))
            self.assertFalse(multi_worker.is_multi_worker(strategy))


@pytest.mark.slow
class LaunchExampleTest(tf.test.TestCase):
    def test_launch_trains_with_two_workers(self):
        """`launch/multi_worker_local.py` runs
        `python -m saccader_tf.launch --strategy=multi_worker`.

        Stage 1 only, to keep the test short: every stage under `train_stage` is checked above.
        """
        model_dir = tempfile.mkdtemp(prefix="multi_worker_launch_")
        command = [
            sys.executable,
            os.path.join(REPO_ROOT, "launch", "multi_worker_local.py"),
            "--num_workers=2",
            "--timeout=200",
            "--",
            "--stage=1",
            f"--model_dir={model_dir}",
            "--model=bagnet9_tiny",
            "--image_size=28",
            "--batch_size=8",
            "--epochs=1",
            "--steps=2",
            "--eval_steps=1",
            "--train_examples=32",
        ]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=230, cwd=REPO_ROOT)
        self.assertEqual(proc.returncode, 0, proc.stdout[-5000:] + proc.stderr[-2000:])
        self.assertNotIn("StartAbort", proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        chief = [line for line in lines if line.startswith("[worker 0] stage 1 (representation)")]
        other = [line for line in lines if line.startswith("[worker 1] stage 1 (representation)")]
        self.assertTrue(chief and other, proc.stdout[-3000:])
        # Only the chief (worker 0) writes (and names) the checkpoint.
        self.assertTrue(all("checkpoint" in line for line in chief), chief)
        self.assertFalse(any("checkpoint" in line for line in other), other)
        self.assertTrue(os.path.exists(os.path.join(model_dir, "stage1", "saccader.weights.h5")))
        self.assertLen(os.listdir(os.path.join(model_dir, "logs", "stage1", "train")), 1)
