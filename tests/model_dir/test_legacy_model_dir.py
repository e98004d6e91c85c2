"""A model_dir written by v0.2 (before the package was laid out by concern) still evaluates and
exports, and its new export serves what the old export served.

`tests/data/model_dir_v0_2/` is that model_dir (bagnet9_tiny, 28 px, 1 channel, 10 classes, 2 steps
a stage); `tests/data/model_dir_v0_2_serving.npz` holds the `serving_default` outputs of the
export v0.2 made from it, on the 4 uint8 images stored beside them. The outputs of the old export
are the independent reference: this version's code made none of them.
"""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.export.layout import load_signatures
from saccader_tf.run.orchestrator import launch
from saccader_tf.run.settings import RunSettings
from tests.support.paths import REPO_ROOT

LEGACY = os.path.join(REPO_ROOT, "tests", "data", "model_dir_v0_2")
SERVED = os.path.join(REPO_ROOT, "tests", "data", "model_dir_v0_2_serving.npz")


@pytest.mark.slow  # evaluates (one batch) and exports the stored model
class LegacyModelDirTest(tf.test.TestCase):
    def test_v0_2_model_dir_evaluates_and_exports_what_it_served(self):
        model_dir = os.path.join(self.get_temp_dir(), "v0_2")
        shutil.copytree(LEGACY, model_dir)
        settings = RunSettings(
            model="bagnet9_tiny",
            image_size=28,
            num_glimpses=2,
            eval_steps=1,
            eval_policies=("learned", "random"),
            train_examples=64,
            model_dir=model_dir,
        )
        launch(settings, "eval")
        with open(os.path.join(model_dir, "evaluation", "evaluation.json")) as f:
            evaluation = json.load(f)
        rows = {(row["policy"], row["network"]) for row in evaluation["rows"]}
        self.assertContainsSubset({("learned", "final"), ("random", "final")}, rows)
        self.assertEqual(evaluation["examples"], 64)  # one batch of the default batch size
        launch(settings, "export")

        with np.load(SERVED) as f:
            expected = {key: f[key] for key in f.files}
        serve = load_signatures(os.path.join(model_dir, "export"))["serving_default"]
        served = serve(images=tf.constant(expected["images"]))
        self.assertAllClose(served["logits"], expected["logits"], atol=1e-5)
        self.assertAllClose(served["probabilities"], expected["probabilities"], atol=1e-5)
        self.assertAllClose(served["glimpse_boxes"], expected["glimpse_boxes"], atol=1e-5)
        self.assertAllEqual(served["glimpse_cells"], expected["glimpse_cells"])
        self.assertAllEqual(served["top_k_classes"], expected["top_k_classes"])
        self.assertAllClose(served["top_k_scores"], expected["top_k_scores"], atol=1e-5)
