"""What a run records in model_dir stays true: a run that skips every stage keeps the recorded
preprocessing (and says which flags differ), a stage trained again invalidates the stages trained
from it, the end-of-run comparison honours `eval_steps`, and `--stage=eval` / `--stage=export` take
the model's settings from model_dir, refusing flags that contradict it: a model_dir written by
v0.2 (`tests/data/model_dir_v0_2`, without the newer records) evaluates, and its new export serves
what v0.2's export of it served.

The launcher runs in process (`launcher.main` under `flagsaver`), on tiny settings; the digests
and the image counts are computed independently here (hashlib, the folder's files).
"""

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.export.layout import load_signatures
from tests.support.image_folder_fixture import write_random_image_folder
from tests.support.launcher_flags import launch_with_flags
from tests.support.paths import REPO_ROOT

LEGACY = os.path.join(REPO_ROOT, "tests", "data", "model_dir_v0_2")
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


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _stage_file(model_dir, stage):
    return os.path.join(model_dir, f"stage{stage}", "saccader.weights.h5")


@pytest.mark.slow  # trains tiny stages in process
class ModelDirTruthTest(tf.test.TestCase):
    def _main(self, **flags):
        """The launcher in process; returns (exit code, stdout, stderr)."""
        return launch_with_flags(**flags)

    def _ok(self, **flags):
        code, out, err = self._main(**flags)
        self.assertEqual(code, 0, err)
        return out, err

    def _one_line_error(self, pattern, **flags):
        code, _, err = self._main(**flags)
        self.assertEqual(code, 2, err)
        self.assertNotIn("Traceback", err)
        self.assertRegex(err.strip().splitlines()[-1], r"^error: " + pattern)

    def test_retraining_stage1_retrains_the_stages_trained_from_it(self):
        model_dir = os.path.join(self.get_temp_dir(), "chain")
        self._ok(**TINY, model_dir=model_dir)
        with open(os.path.join(model_dir, "policy_accuracy.json")) as f:
            self.assertEqual(json.load(f)["examples"], 8)  # eval_steps=1 batch of 8, not 1,000
        with open(os.path.join(model_dir, "stage3", "parent.json")) as f:
            self.assertEqual(json.load(f)["parent_sha256"], _sha256(_stage_file(model_dir, 2)))
        old = {stage: _sha256(_stage_file(model_dir, stage)) for stage in (1, 2, 3)}

        self._ok(**{**TINY, "steps": 3}, model_dir=model_dir, stage="1", retrain=True)
        self.assertNotEqual(_sha256(_stage_file(model_dir, 1)), old[1])
        out, _ = self._ok(**TINY, model_dir=model_dir)
        self.assertRegex(out, r"stage 2: trained again from scratch: .*another stage-1 file")
        self.assertRegex(out, r"stage 3: trained again from scratch: its parent, stage 2")
        self.assertIn("stage 1 (representation): already finished", out)
        for stage in (2, 3):
            self.assertNotEqual(_sha256(_stage_file(model_dir, stage)), old[stage])

        out, _ = self._ok(**TINY, model_dir=model_dir)  # now consistent: everything skipped
        self.assertEqual(out.count("already finished"), 2 * 3)  # the stage lines and the summary

    def test_a_run_that_skips_every_stage_keeps_the_preprocessing_record(self):
        root = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "folder"), train=16, val=8, height=30, width=30
        )
        other = os.path.join(self.get_temp_dir(), "other")
        shutil.copytree(root, other)
        for split in ("train", "val"):  # the same number of classes, other names
            for name in ("c0", "c1"):
                os.rename(os.path.join(other, split, name), os.path.join(other, split, "x" + name))
        model_dir = os.path.join(self.get_temp_dir(), "recorded")
        flags = {**TINY, "dataset": f"folder:{root}", "train_examples": None, "stage": "1"}
        self._ok(**flags, model_dir=model_dir)
        record = os.path.join(model_dir, "preprocessing.json")
        with open(record) as f:
            before = json.load(f)
        self.assertEqual((before["recipe"], before["class_names"]), ("light", ["c0", "c1"]))

        _, err = self._ok(**flags, augment="imagenet", model_dir=model_dir)
        self.assertRegex(err, r"note: every stage was skipped, .*keeps .*recipe: 'light' -> ")
        _, err = self._ok(**{**flags, "dataset": f"folder:{other}"}, model_dir=model_dir)
        self.assertRegex(err, r"note: every stage was skipped, .*class_names: \['c0', 'c1'\] -> ")
        with open(record) as f:
            self.assertEqual(json.load(f), before)

        os.remove(record)  # deleted by hand: written again from the flags, said so
        _, err = self._ok(**flags, model_dir=model_dir)
        self.assertRegex(err, r"note: .*preprocessing\.json was missing or unusable: written")
        with open(record) as f:
            self.assertEqual(json.load(f), before)

    def test_evaluation_and_export_take_the_model_settings_from_model_dir(self):
        model_dir = os.path.join(self.get_temp_dir(), "v0_2")
        shutil.copytree(LEGACY, model_dir)
        base = dict(model_dir=model_dir, num_glimpses=2, eval_steps=1, train_examples=64)
        for stage in ("eval", "export"):
            for flag, value in (("image_size", 60), ("model", "bagnet17")):
                with self.subTest(stage=stage, flag=flag):
                    recorded = {"image_size": "28", "model": "bagnet9_tiny"}[flag]
                    self._one_line_error(
                        rf"{model_dir} holds a model trained with --{flag}={recorded} \(recorded "
                        rf"in model_config\.json\), .*Received: --{flag}={value}$",
                        **base,
                        stage=stage,
                        **{flag: value},
                    )
        folder = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "three"), train=64, val=6, height=28, width=28,
            num_classes=3,
        )  # fmt: skip
        self._one_line_error(
            r"--dataset=folder:.* has 3 classes, but the model in .* was trained on 10",
            **base,
            stage="eval",
            dataset=f"folder:{folder}",
        )
        # No model flag at all (the defaults are another model and size): the recorded ones apply.
        out, _ = self._ok(**base, stage="eval")
        self.assertIn("(64 test images)", out)
        self._ok(**base, stage="export")
        # The new export of the v0.2 model_dir serves what v0.2's own export served (outputs
        # stored beside the model_dir: this version's code made none of them).
        with np.load(LEGACY + "_serving.npz") as f:
            expected = {key: f[key] for key in f.files}
        serve = load_signatures(os.path.join(model_dir, "export"))["serving_default"]
        served = serve(images=tf.constant(expected["images"]))
        for key in ("logits", "probabilities", "glimpse_boxes", "top_k_scores"):
            self.assertAllClose(served[key], expected[key], atol=1e-5, msg=key)
        for key in ("glimpse_cells", "top_k_classes"):
            self.assertAllEqual(served[key], expected[key], msg=key)
