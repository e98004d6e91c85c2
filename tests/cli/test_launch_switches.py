"""The launcher's reproduction-switch flags: refused where they cannot work, given to the stages
they change; the command quoted for a missing stage 1 leaves `--skip_stage2` out; and a parsed
command line gives exactly the `RunSettings` written out by hand."""

from unittest import mock

import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf.cli import launcher
from saccader_tf.run.settings import RunSettings
from tests.support.launcher_flags import flag_problem, settings_of

SWITCH_FLAG_CASES = [
    ({"location_weight_decay": -1.0}, r"^--location_weight_decay must be >= 0"),
    ({"background_class": True}, r"^--background_class applies to TFDS datasets.*cluttered_mnist"),
    ({"background_class": True, "dataset": "folder:/d"}, r"^--background_class applies to TFDS"),
    ({"skip_stage2": True, "stage": "2"}, r"^--skip_stage2 applies to .*--stage=2"),
    ({"skip_stage2": True, "architecture": "dram"}, r"^--skip_stage2 applies to .*dram"),
    ({"warmup_epochs": -0.5}, r"^--warmup_epochs must be >= 0"),
    ({"warmup_epochs": 1.0}, r"^--warmup_epochs must be below .*shortest has 1"),  # epochs 3,1,1
]


class LauncherSwitchesTest(tf.test.TestCase):
    def test_switch_flags_that_cannot_work_are_refused(self):
        for overrides, message in SWITCH_FLAG_CASES:
            with self.subTest(**{k: str(v) for k, v in overrides.items()}):
                self.assertRegex(flag_problem(**overrides), message)
        self.assertIsNone(flag_problem(warmup_epochs=2.0, epochs=["3"], stage="all"))  # below 3

    def test_switch_flags_reach_the_stage_settings(self):
        switches = dict(
            l2="normalized",
            location_weight_decay=0.5,
            reward="punishment",
            schedule="constant",
            warmup_epochs=0.5,
            skip_stage2=True,
        )
        data = dict(augment="imagenet_tf1", background_class=True, dataset="imagenet2012")
        self.assertIsNone(flag_problem(**data, **switches))
        settings = settings_of(**data, **switches)
        self.assertEqual((settings.augment, settings.background_class), ("imagenet_tf1", True))
        self.assertEqual(settings.stages, [1, 3])
        self.assertEqual([settings.previous_stage(s) for s in (1, 2, 3)], [None, 1, 1])
        stage3 = settings.stage_settings(3)
        self.assertEqual({name: getattr(stage3, name) for name in switches}, switches)
        self.assertEqual(stage3.switches(), switches)
        self.assertFalse(settings.stage_settings(1).skip_stage2)  # stage 1 starts as always
        defaults = RunSettings()
        self.assertEqual((defaults.stages, defaults.previous_stage(3)), ([1, 2, 3], 2))
        self.assertEqual(defaults.stage_settings(3).switches(), {})

    def test_the_command_naming_stage1_leaves_skip_stage2_out(self):
        argv = ["launch", "--stage=3", "--skip_stage2", "--model_dir=runs/a"]
        with mock.patch.object(launcher.sys, "argv", argv):
            self.assertEqual(
                launcher.command_for(1), "python -m saccader_tf.launch --stage=1 --model_dir=runs/a"
            )
            self.assertEqual(
                launcher.command_for(3),
                "python -m saccader_tf.launch --stage=3 --skip_stage2 --model_dir=runs/a",
            )


class SettingsFromFlagsTest(tf.test.TestCase):
    def test_a_command_line_gives_these_settings(self):
        argv = [
            "launch",
            "--epochs=4,2,1",
            "--learning_rate=0.5",
            "--eval_policies=learned,full",
            "--readout=soft",
            "--devices=/gpu:0,/gpu:1",
            "--strategy=mirrored",
            "--noretrain",
            "--num_clutter=2",
            "--stage=3",
            "--model_dir=runs/b",
        ]
        with flagsaver.flagsaver():
            launcher.FLAGS(argv)
            with mock.patch.object(launcher.sys, "argv", argv):
                settings = launcher.settings_from_flags()
                command = settings.command(2)
        expected = RunSettings(
            epochs=(4, 2, 1),
            learning_rate=(0.5, 0.5, 0.5),  # one value: every stage's
            eval_policies=("learned", "full"),
            eval_policies_given=True,
            readout="soft",
            readout_given=True,
            devices=("/gpu:0", "/gpu:1"),
            strategy="mirrored",
            num_clutter=2,
            model_dir="runs/b",
        )
        self.assertEqual(settings, expected)  # every field but command_for
        self.assertEqual(
            command,
            "python -m saccader_tf.launch --stage=2 --epochs=4,2,1 --learning_rate=0.5 "
            "--eval_policies=learned,full --readout=soft --devices=/gpu:0,/gpu:1 "
            "--strategy=mirrored --noretrain --num_clutter=2 --model_dir=runs/b",
        )
        self.assertEqual(settings_of(epochs=["2", "1", "1", "5"]).epochs, (2, 1, 1, 5))
