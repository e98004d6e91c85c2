"""A model_dir on a file system TensorFlow knows, not the local disk: TensorFlow's in-memory
`ram://` (docs/distributed.md, "Cloud storage"). ram:// lives inside one process, so the launcher
runs in process (`launcher.main` under `flagsaver`), from an empty working folder that must stay
empty. The references: the bytes read back with `tf.io.gfile` and hashed with `hashlib`, the
SavedModel loaded by TensorFlow, and a run on the local disk trained with the same flags.
"""

import hashlib
import io
import json
import os
import signal
import uuid
from unittest import mock

import h5py
import numpy as np
import pytest
import tensorflow as tf

import saccader_tf
from saccader_tf.training import preemption
from tests.support.launcher_flags import launch_with_flags
from tests.support.paths import REPO_ROOT

TINY = dict(
    model="bagnet9_tiny",
    image_size=28,
    batch_size=8,
    epochs=["1"],
    steps=2,
    eval_steps=1,
    num_glimpses=2,
    num_targets=2,
    train_examples=64,
)


def _bytes(path):
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def _h5_arrays(data):
    """Every dataset of the `.weights.h5` file `data` (bytes), by its name."""
    arrays = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(
            lambda name, item: (
                arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None
            )
        )
    return arrays


@pytest.mark.slow  # trains tiny stages in process
class RamModelDirTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.cwd = os.path.join(self.get_temp_dir(), f"cwd_{uuid.uuid4().hex}")
        os.makedirs(self.cwd)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.cwd)  # a stray local write of a ram:// path would land here
        self.addCleanup(signal.signal, signal.SIGTERM, signal.getsignal(signal.SIGTERM))

    def tearDown(self):
        self.assertEqual(os.listdir(self.cwd), [])  # nothing on the local disk
        self.assertFalse(os.path.exists(os.path.join(REPO_ROOT, "ram:")))
        super().tearDown()

    def _main(self, **flags):
        """The launcher in process; returns (exit code, stdout, stderr)."""
        return launch_with_flags(**flags)

    def _ok(self, **flags):
        code, out, err = self._main(**flags)
        self.assertEqual(code, 0, err)
        return out

    def test_all_stages_then_eval(self):
        model_dir = f"ram://{uuid.uuid4().hex}/run"
        out = self._ok(**TINY, model_dir=model_dir)
        self.assertIn(f"exported SavedModel to {model_dir}/export/1", out)
        self._ok(**TINY, model_dir=model_dir, stage="eval")
        found = {
            os.path.join(folder, name)[len(model_dir) + 1 :]
            for folder, folders, names in tf.io.gfile.walk(model_dir)
            for name in folders + names
        }
        for name in (
            "model_config.json",
            "preprocessing.json",
            "policy_accuracy.json",
            "stage2/parent.json",
            "evaluation/evaluation.json",
            "evaluation/evaluation.csv",
            "evaluation/accuracy_vs_glimpses.png",
            "export/1/saved_model.pb",
            "logs/stage3",
        ):
            self.assertIn(name, found)
        for stage in (1, 2, 3):
            path = f"{model_dir}/stage{stage}/saccader.weights.h5"
            digest = _bytes(path + ".sha256").decode().strip()
            self.assertEqual(digest, hashlib.sha256(_bytes(path)).hexdigest())
            self.assertFalse(tf.io.gfile.exists(f"{model_dir}/stage{stage}/progress"))
        self.assertEqual(json.loads(_bytes(f"{model_dir}/policy_accuracy.json"))["examples"], 8)
        picture = _bytes(f"{model_dir}/evaluation/accuracy_vs_glimpses.png")
        self.assertEqual(picture[:4], b"\x89PNG")
        images = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1), dtype=np.uint8)
        served = tf.saved_model.load(f"{model_dir}/export/1").signatures["serving_default"]
        outputs = served(images=tf.constant(images))
        predictor = saccader_tf.load(model_dir)
        predictions = predictor.predict(images)
        self.assertEqual(
            [p["classes"][0] for p in predictions], list(outputs["top_k_classes"].numpy()[:, 0])
        )

    def test_a_stopped_stage_resumes_to_the_weights_of_an_uninterrupted_run(self):
        flags = dict(TINY, steps=4, save_every_steps=1, stage="1")
        whole = f"ram://{uuid.uuid4().hex}/whole"
        self._ok(**flags, model_dir=whole)
        stopped = f"ram://{uuid.uuid4().hex}/stopped"
        original = preemption.StopAtStepBoundary.on_train_batch_end

        def sigterm_after_step_2(callback, batch, logs=None):
            if callback.progress.step == 2:  # as the SIGTERM handler does
                callback.signals.received = signal.SIGTERM
            return original(callback, batch, logs)

        with mock.patch.object(
            preemption.StopAtStepBoundary, "on_train_batch_end", sigterm_after_step_2
        ):
            code, _, err = self._main(**flags, model_dir=stopped)
        self.assertEqual(code, 143, err)
        self.assertIn("stopped by SIGTERM after step 2 of stage 1: progress saved", err)
        progress = f"{stopped}/stage1/progress"
        self.assertTrue(tf.io.gfile.exists(f"{progress}/ckpt-2.index"))
        self.assertFalse(tf.io.gfile.exists(f"{stopped}/stage1/saccader.weights.h5"))
        out = self._ok(**flags, model_dir=stopped)
        self.assertIn(f"stage 1: resuming at step 2 of 4 from {progress}/ckpt-2", out)
        resumed = _h5_arrays(_bytes(f"{stopped}/stage1/saccader.weights.h5"))
        reference = _h5_arrays(_bytes(f"{whole}/stage1/saccader.weights.h5"))
        self.assertEqual(sorted(resumed), sorted(reference))
        self.assertGreater(len(reference), 10)
        for name, value in reference.items():
            np.testing.assert_array_equal(resumed[name], value, err_msg=name)
