"""The launcher on an image folder as a user has it: no --steps, recipe `none`, export without
crop."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.data.write_folder import write_cluttered_mnist_folder
from saccader_tf.export.layout import find_export


@pytest.mark.slow  # runs the launcher in a subprocess
class LaunchFolderTest(tf.test.TestCase):
    def test_folder_trains_without_steps_and_export_applies_no_centre_crop(self):
        root = os.path.join(self.get_temp_dir(), "cmnist")
        # 41 training PNGs (grayscale), batch 16: floor(41 / 16) = 2 steps per epoch.
        write_cluttered_mnist_folder(
            root, image_size=28, num_train=41, num_eval=10, seed=2, progress=False
        )
        model_dir = os.path.join(self.get_temp_dir(), "run")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "saccader_tf.launch",
                f"--dataset=folder:{root}",
                "--augment=none",
                "--model=bagnet9_tiny",
                "--image_size=28",
                "--num_glimpses=3",
                "--num_targets=4",
                "--batch_size=16",
                "--epochs=1",
                f"--model_dir={model_dir}",
                "--seed=1",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            env=env,
        )
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output[-4000:])
        for stage in (1, 2, 3):
            self.assertRegex(result.stdout, rf"stage {stage} \(.*\): 1 epoch\(s\), 2 steps")
        self.assertNotIn("ran out of data", output)
        with open(os.path.join(model_dir, "preprocessing.json")) as f:
            record = json.load(f)
        self.assertEqual(
            (record["recipe"], record["crop_fraction"], record["channels"]), ("none", None, 1)
        )
        # The SavedModel resizes the whole raw image (no centre crop), as evaluation did.
        served = tf.saved_model.load(find_export(os.path.join(model_dir, "export")))
        raw = np.random.default_rng(0).integers(0, 256, (1, 40, 28, 1), dtype=np.uint8)
        out = served.serving_default(tf.constant(raw))
        from saccader_tf.model_dir.model_config import load_trained_model

        model = load_trained_model(model_dir)
        inputs = (tf.image.resize(raw, [28, 28]) / 255.0 - 0.5) / 0.5
        self.assertAllClose(out["logits"], model(inputs, training=False)["logits"], atol=1e-4)
