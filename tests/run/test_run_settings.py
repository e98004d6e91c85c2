"""`RunSettings` (the recipe's settings) mirrors the launcher's flags (issue 15)."""

import dataclasses

import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf.cli import launcher as launch
from saccader_tf.run.settings import RunSettings, StageSettings


class RunSettingsTest(tf.test.TestCase):
    def test_defaults_are_the_flag_defaults(self):
        with flagsaver.flagsaver():
            from_flags = launch.settings_from_flags()
        # Equality leaves out `command_for` (compare=False): every other field must agree.
        self.assertEqual(from_flags, RunSettings())
        self.assertEqual(
            from_flags.command(2).split()[:4], ["python", "-m", "saccader_tf.launch", "--stage=2"]
        )

    def test_per_stage_values_reach_each_stage(self):
        with flagsaver.flagsaver(
            epochs=["4", "2", "1"],
            learning_rate=["0.5"],
            steps=7,
            retrain=True,
            save_every_steps=0,
            num_targets=5,
        ):
            settings = launch.settings_from_flags()
        self.assertEqual((settings.epochs, settings.learning_rate), ((4, 2, 1), (0.5, 0.5, 0.5)))
        stage2 = dataclasses.replace(settings, verbose=2).stage_settings(2)
        self.assertEqual(
            stage2,
            StageSettings(
                epochs=2,
                learning_rate=0.5,
                weight_decay=8e-5,
                num_targets=5,
                full_image_loss_weight=1.0,
                steps_per_epoch=7,
                eval_steps=None,
                optimizer="adam",
                jit_compile=False,
                verbose=2,
                save_every_steps=0,
                restart=True,
            ),
        )

    def test_without_the_launcher_the_missing_stage_command_names_the_model_dir(self):
        settings = RunSettings(model_dir="runs/x")
        self.assertEqual(
            settings.command(1), "python -m saccader_tf.launch --stage=1 --model_dir=runs/x"
        )
