"""The launcher's flags: generated from `RunSettings` with today's names, kinds, defaults and help;
invalid combinations stop before any work with a message that says which flag to change."""

import dataclasses
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf import model_dir
from saccader_tf.cli import launcher
from saccader_tf.models import Saccader
from saccader_tf.models.dtype_policy import MIXED_PRECISION, model_dtype
from saccader_tf.run import orchestrator
from saccader_tf.run.model_kinds import SaccaderKind
from saccader_tf.run.settings import RunSettings, flag_fields
from tests.support.comparable_models import tiny_saccader
from tests.support.launcher_flags import flag_problem, settings_of
from tests.support.paths import REPO_ROOT

CASES = [
    (
        {"image_size": 20},
        r"^--image_size=20 is smaller than the receptive field of bagnet29_small \(29 px\)",
    ),
    ({"num_glimpses": 65}, r"^--num_glimpses=65 exceeds the 64 cells of the 8x8 grid"),
    (
        {"num_targets": 10, "image_size": 40},
        r"^--num_targets=10 exceeds the 9 cells of the 3x3 grid",
    ),
    ({"model": "resnet"}, r"^--model must be one of .*Received: --model=resnet$"),
    ({"epochs": ["1", "2"]}, r"^--epochs takes one value, three .stages 1, 2, 3. or four"),
    ({"learning_rate": ["fast"]}, r"^--learning_rate takes numbers"),
    ({"devices": ["/gpu:0"]}, r"^--devices needs --strategy=mirrored"),
    ({"batch_size": 0}, r"^--batch_size must be >= 1\. Received: --batch_size=0$"),
    ({"full_image_loss_weight": -0.5}, r"^--full_image_loss_weight must be >= 0.*=-0.5"),
    ({"augment": "light"}, r"^--augment applies to image folders and TFDS datasets"),
    ({"channels": "3", "flip": True}, r"^--flip, --channels apply to image folders"),
    ({"dataset": "imagenette", "cache": "memory"}, r"^--cache applies to image folders"),
    (
        {"dataset": "imagenette", "skip_bad_files": True},
        r"^--skip_bad_files applies to image folders .*TFDS decodes the images of "
        r"--dataset=imagenette itself.*cannot skip",
    ),
    ({"skip_bad_files": True}, r"^--skip_bad_files applies to image folders .*generated"),
    # Values that pass a type check but could never train: caught here, not blamed on divergence.
    ({"weight_decay": float("nan")}, r"^--weight_decay must be a finite number\. .*=nan$"),
    ({"weight_decay": float("inf")}, r"^--weight_decay must be a finite number"),
    ({"weight_decay": -1e-4}, r"^--weight_decay must be >= 0\. Received: --weight_decay=-0.0001$"),
    ({"full_image_loss_weight": float("inf")}, r"^--full_image_loss_weight must be a finite"),
    ({"warmup_epochs": float("nan")}, r"^--warmup_epochs must be a finite number"),
    (
        {"learning_rate": ["1e-320"]},
        r"^--learning_rate must be positive .*float32.*=1e-320,1e-320,1e-320$",
    ),
    ({"learning_rate": ["0.1", "nan", "0.1"]}, r"^--learning_rate takes numbers, each finite"),
    ({"seed": 4294967296}, r"^--seed must be at most 2147483647 .*--seed=4294967296$"),
    (
        {"attention_widths": ["64", "64", "32"]},
        r"^--attention_widths takes four positive widths.*Received: --attention_widths=64,64,32$",
    ),
    ({"attention_widths": ["64", "0", "32", "32"]}, r"^--attention_widths takes four positive"),
    (
        {"attention_widths": ["wide"]},
        r"^--attention_widths takes whole numbers separated by commas\. Received: "
        r"--attention_widths=wide$",
    ),
    (
        {"attention_widths": ["8", "8", "4", "4"], "architecture": "dram"},
        r"^--attention_widths applies to the Saccader; DRAM has no attention network",
    ),
]


class FlagValidationTest(tf.test.TestCase):
    def test_each_invalid_combination_names_the_fix(self):
        for overrides, message in CASES:
            with self.subTest(**{k: str(v) for k, v in overrides.items()}):
                self.assertRegex(flag_problem(**overrides), message)

    def test_attention_widths_reach_the_model(self):
        settings = settings_of(attention_widths=["24", "20", "12", "8"])
        self.assertEqual(settings.attention_widths, (24, 20, 12, 8))
        model_class, options = SaccaderKind().model_class(settings)
        model = model_class(num_classes=10, image_size=60, input_channels=1, **options)
        model.build()
        kernels = [conv.kernel.shape for conv in model.attention_network.convs]
        # 1x1, dilated 3x3, 1x1, dilated 3x3 on the BagNet's 256 feature channels.
        self.assertEqual(
            [tuple(k) for k in kernels],
            [(1, 1, 256, 24), (3, 3, 24, 20), (1, 1, 20, 12), (3, 3, 12, 8)],
        )
        self.assertEqual(model.get_config()["attention_widths"], (24, 20, 12, 8))
        default = settings_of()
        self.assertEqual(default.attention_widths, ())
        self.assertNotIn("attention_widths", SaccaderKind().model_class(default)[1])

    def test_valid_defaults_pass(self):
        self.assertIsNone(flag_problem())
        self.assertIsNone(flag_problem(num_glimpses=64, num_targets=64))  # all 64 cells
        self.assertIsNone(flag_problem(dataset="folder:/data/images", skip_bad_files=True))

    def test_every_preset_in_launch_parses_and_validates(self):
        presets = os.path.join(REPO_ROOT, "launch")
        names = sorted(n for n in os.listdir(presets) if n.endswith(".cfg"))
        self.assertIn("image_folder.cfg", names)
        for name in names:
            with self.subTest(preset=name), flagsaver.flagsaver():
                # image_folder.cfg needs the user's folder (the comment in it says so).
                extra = ["--dataset=folder:/data/images"] if name == "image_folder.cfg" else []
                launcher.FLAGS(["launch", f"--flagfile={os.path.join(presets, name)}", *extra])
                settings = launcher.settings_from_flags().validate(launcher.FLAGS.stage)
                if "imagenet" in name:
                    self.assertEqual(settings.augment, "imagenet")

    @pytest.mark.slow
    def test_the_command_exits_with_one_line_before_creating_anything(self):
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
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        self.assertNotIn("Traceback", result.stderr)
        self.assertRegex(
            result.stderr.strip().splitlines()[-1],
            r"^error: --image_size=20 is smaller than the receptive field",
        )
        self.assertFalse(os.path.exists(model_dir))


LIST = "comma separated list of strings"


class GeneratedFlagsTest(tf.test.TestCase):
    def test_flags_keep_their_kinds_and_defaults(self):
        flags = launcher.FLAGS
        expected = {  # written down from the flags as they were declared by hand
            "batch_size": ("int", 64),
            "train_examples": ("int", 20000),
            "num_clutter": ("int", None),
            "weight_decay": ("float", 8e-5),
            "retrain": ("bool", False),
            "flip": ("bool", None),
            "model_dir": ("string", "runs/saccader"),
            "epochs": (LIST, ["3", "1", "1"]),
            "learning_rate": (LIST, ["0.002"]),
            "devices": (LIST, []),
            "stage": ("string enum", "all"),
        }
        for name, (kind, default) in expected.items():
            with self.subTest(flag=name):
                self.assertEqual((flags[name].flag_type(), flags[name].default), (kind, default))
        self.assertEqual(flags["optimizer"].parser.enum_values, ["adam", "sgd"])
        self.assertEqual(tuple(flags["mixed_precision"].parser.enum_values), MIXED_PRECISION)
        self.assertEqual(flags["channels"].parser.enum_values, ["auto", "1", "3"])
        self.assertEqual(
            flags["stage"].parser.enum_values,
            ["1", "2", "3", "4", "all", "eval", "export", "predict"],
        )

    def test_every_setting_is_a_flag_with_its_help(self):
        names = {field.name for field in flag_fields()}
        # Every field of RunSettings is a flag but these, which the launcher fills itself.
        not_flags = {
            "readout_given",
            "eval_policies_given",
            "verbose",
            "flags_given",
            "command_for",
        }
        fields = {field.name for field in dataclasses.fields(RunSettings)}
        self.assertEqual(fields - names, not_flags)
        self.assertEqual(set(launcher.FLAGS) & fields, names)
        for field in flag_fields():
            self.assertTrue(launcher.FLAGS[field.name].help.endswith(field.metadata["help"]))
        self.assertIn("TFDS decodes their images", launcher.FLAGS["skip_bad_files"].help)

    def test_flag_values_reach_the_settings_and_model_dir_records_float32(self):
        settings = settings_of(mixed_precision="mixed_bfloat16", jit_compile=True)
        self.assertEqual(settings.mixed_precision, "mixed_bfloat16")
        self.assertTrue(settings.stage_settings(1).jit_compile)
        model = tiny_saccader(num_glimpses=3, dtype=model_dtype(settings.mixed_precision))
        recorded = orchestrator.float32_config(model)
        rebuilt = Saccader.from_config(model_dir.config_record(recorded))
        self.assertEqual(rebuilt.dtype_policy.name, "float32")  # eval and export run in float32
        self.assertEqual(settings_of(), RunSettings())  # no flag given: the declared defaults

    @pytest.mark.slow
    def test_help_lists_every_flag(self):
        result = subprocess.run(
            [sys.executable, "-m", "saccader_tf.launch", "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        listed = {line.split(":")[0].strip() for line in result.stdout.splitlines()}
        for name in ["stage", *(field.name for field in flag_fields())]:
            flag = f"--[no]{name}" if launcher.FLAGS[name].flag_type() == "bool" else f"--{name}"
            self.assertIn(flag, listed)
