"""Invalid flag combinations stop before any work, with a message that says what to change."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf
from absl import app
from absl.testing import flagsaver

from saccader_tf.cli import launcher as launch
from tests.support.paths import REPO_ROOT

CASES = [
    (
        {"image_size": 20},
        r"--image_size=20 is smaller than the receptive field of bagnet29_small \(29 px\)",
    ),
    ({"num_glimpses": 65}, r"--num_glimpses=65 exceeds the 64 cells of the 8x8 grid"),
    (
        {"num_targets": 10, "image_size": 40},
        r"--num_targets=10 exceeds the 9 cells of the 3x3 grid",
    ),
    ({"model": "resnet"}, r"--model must be one of .*Received: --model=resnet"),
    ({"epochs": ["1", "2"]}, r"--epochs takes one value, three .stages 1, 2, 3. or four"),
    ({"learning_rate": ["fast"]}, r"--learning_rate takes numbers"),
    ({"devices": ["/gpu:0"]}, r"--devices needs --strategy=mirrored"),
    ({"batch_size": 0}, r"--batch_size must be >= 1"),
    ({"full_image_loss_weight": -0.5}, r"--full_image_loss_weight must be >= 0.*=-0.5"),
    ({"augment": "light"}, r"--augment applies to image folders and TFDS datasets"),
    ({"channels": "3", "flip": True}, r"--flip, --channels apply to image folders"),
    ({"dataset": "imagenette", "cache": "memory"}, r"--cache applies to image folders"),
]


class FlagValidationTest(tf.test.TestCase):
    def test_each_invalid_combination_names_the_fix(self):
        for overrides, message in CASES:
            with self.subTest(**{k: str(v) for k, v in overrides.items()}):
                with flagsaver.flagsaver(**overrides):
                    with self.assertRaisesRegex(app.UsageError, message):
                        launch._validate_flags()

    def test_valid_defaults_pass(self):
        with flagsaver.flagsaver():
            launch._validate_flags()
        with flagsaver.flagsaver(num_glimpses=64, num_targets=64):
            launch._validate_flags()

    def test_every_preset_in_launch_parses_and_validates(self):
        presets = os.path.join(REPO_ROOT, "launch")
        names = sorted(n for n in os.listdir(presets) if n.endswith(".cfg"))
        self.assertIn("image_folder.cfg", names)
        for name in names:
            with self.subTest(preset=name), flagsaver.flagsaver():
                # image_folder.cfg needs the user's folder (the comment in it says so).
                extra = ["--dataset=folder:/data/images"] if name == "image_folder.cfg" else []
                launch.FLAGS(["launch", f"--flagfile={os.path.join(presets, name)}", *extra])
                launch._validate_flags()
                if "imagenet" in name:
                    self.assertEqual(launch.FLAGS.augment, "imagenet")

    @pytest.mark.slow
    def test_the_command_exits_non_zero_before_creating_anything(self):
        model_dir = os.path.join(self.get_temp_dir(), "never")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "saccader_tf.launch",
                "--image_size=20",
                f"--model_dir={model_dir}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--image_size=20 is smaller than the receptive field", result.stderr)
        self.assertFalse(os.path.exists(model_dir))
