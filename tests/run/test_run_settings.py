"""`RunSettings` from Python: per-stage values reach each stage, `validate(stage)` refuses what
cannot work with a `SettingsError` naming the field (no flags involved), and `launch` validates
first."""

import dataclasses
import os
import pickle

import tensorflow as tf

from saccader_tf.run import SettingsError, launch
from saccader_tf.run.settings import RunSettings, StageSettings
from saccader_tf.utils.errors import UserError

# (settings, stage, the message's beginning): every message names fields, never flags.
REFUSED = [
    (dict(batch_size=0), "all", r"^batch_size must be >= 1\. Received: batch_size=0$"),
    (dict(batch_size="8"), "all", r"^batch_size must be an integer\. Received: batch_size='8'$"),
    (dict(optimizer="adagrad"), "1", r"^optimizer must be one of adam, sgd\. "),
    (dict(epochs=(1, 2)), "all", r"^epochs takes one value, three .*Received: epochs=1,2$"),
    (dict(epochs=(1.5,)), "all", r"^epochs takes numbers"),
    (dict(learning_rate=(0.0, 1.0, 1.0)), "all", r"^learning_rate must be positive"),
    (dict(image_size=20), "all", r"^image_size=20 is smaller than the receptive field"),
    (dict(model_dir=""), "all", r"^model_dir must name a directory, e\.g\. model_dir=runs/a"),
    (dict(eval_policies=("learned", "sobel")), "eval", r"^eval_policies takes names from"),
    ({}, 4, r"^stage=4 trains a Saccader-ClassNet's classifier: choose one with classifier="),
    (
        {},
        "train",
        r"^stage must be one of 1, 2, 3, 4, all, eval, export, predict\. Received: stage=train",
    ),
    (dict(skip_stage2=True), 2, r"^skip_stage2 applies to .*Received: stage=2 "),
    (dict(architecture="dram", dram_model="dram_tiny"), 1, r"^architecture=dram has one training"),
    (dict(warmup_epochs=1.0), 2, r"^warmup_epochs must be below .*\(the shortest has 1\)"),
    (dict(warmup_epochs=1.0), "all", r"^warmup_epochs must be below"),  # epochs 3, 1, 1
    (dict(skip_bad_files=True), "all", r"^skip_bad_files applies to image folders "),
    (
        dict(dataset="imagenet2012", skip_bad_files=True),
        "all",
        r"^skip_bad_files applies to image folders \(dataset=folder:PATH\); TFDS decodes the "
        r"images of dataset=imagenet2012 itself, inside its own pipeline",
    ),
]


class ValidateTest(tf.test.TestCase):
    def test_refusals_name_the_fields(self):
        for changes, stage, pattern in REFUSED:
            with self.subTest(stage=stage, **{k: str(v) for k, v in changes.items()}):
                with self.assertRaisesRegex(SettingsError, pattern) as raised:
                    RunSettings(**changes).validate(stage)
                self.assertNotIn("--", str(raised.exception))

    def test_accepted_settings_return_themselves(self):
        for changes, stage in (
            ({}, "all"),
            (dict(warmup_epochs=1.0), 1),  # stage 1 has 3 epochs
            (dict(warmup_epochs=1.0), "eval"),  # nothing is trained
            (dict(dataset="folder:/data/images", skip_bad_files=True), "all"),
            (dict(epochs=(2,), learning_rate=(0.1, 0.1, 0.1, 0.01)), "all"),
            (dict(classifier="small_cnn"), "4"),
            (dict(skip_stage2=True), 3),
            (dict(train_examples=None, num_clutter=None), "1"),  # unset: the defaults apply
            # DRAM at 28 px: its 9 px glimpses fit; the unused --model's 29 px field is no limit
            (dict(architecture="dram", dram_model="dram_tiny", image_size=28), "all"),
        ):
            with self.subTest(stage=stage, **{k: str(v) for k, v in changes.items()}):
                settings = RunSettings(**changes)
                self.assertIs(settings.validate(stage), settings)

    def test_the_error_is_a_user_error_worded_for_flags_too(self):
        with self.assertRaises(SettingsError) as raised:
            RunSettings(num_glimpses=0).validate()
        error = raised.exception
        self.assertIsInstance(error, ValueError)  # callers catching ValueError keep working
        self.assertIsInstance(error, UserError)
        self.assertEqual(str(error), "num_glimpses must be >= 1. Received: num_glimpses=0")
        self.assertEqual(
            error.worded("--"), "--num_glimpses must be >= 1. Received: --num_glimpses=0"
        )
        self.assertEqual(str(pickle.loads(pickle.dumps(error))), str(error))

    def test_launch_validates_before_creating_anything(self):
        model_dir = os.path.join(self.get_temp_dir(), "never")
        with self.assertRaisesRegex(SettingsError, r"^seed must be >= 0\. Received: seed=-1"):
            launch(RunSettings(seed=-1, model_dir=model_dir), "1")
        self.assertFalse(os.path.exists(model_dir))


class StageSettingsTest(tf.test.TestCase):
    def test_per_stage_values_reach_each_stage(self):
        settings = RunSettings(
            epochs=(4, 2, 1),
            learning_rate=(0.5, 0.5, 0.5),
            steps=7,
            retrain=True,
            save_every_steps=0,
            num_targets=5,
            verbose=2,
        )
        self.assertEqual(
            settings.stage_settings(2),
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
        one = dataclasses.replace(settings, epochs=(6,), learning_rate=(0.1, 0.2, 0.3, 0.4))
        self.assertEqual([one.stage_settings(s).epochs for s in (1, 2, 3, 4)], [6, 6, 6, 6])
        self.assertEqual([one.stage_settings(s).learning_rate for s in (1, 4)], [0.1, 0.4])

    def test_a_stage_alone_keeps_its_own_defaults(self):
        alone = StageSettings(epochs=1, learning_rate=0.1)
        # No weight decay and no resumable progress unless asked for; the run's defaults differ.
        self.assertEqual((alone.weight_decay, alone.save_every_steps), (0.0, None))
        run = RunSettings(verbose=1).stage_settings(1)
        self.assertEqual((run.weight_decay, run.save_every_steps), (8e-5, 100))
        self.assertEqual((run.num_targets, run.optimizer, run.l2), (12, "adam", "standard"))
        self.assertEqual(run.switches(), {})

    def test_without_the_launcher_the_missing_stage_command_names_the_model_dir(self):
        settings = RunSettings(model_dir="runs/x")
        self.assertEqual(
            settings.command(1), "python -m saccader_tf.launch --stage=1 --model_dir=runs/x"
        )


if __name__ == "__main__":
    tf.test.main()
