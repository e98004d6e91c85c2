"""The launcher end to end on a tiny configuration: the three stages in a subprocess (as a user runs
it), then the same model_dir through `launcher.main` in this process (a finished stage skipped,
`--retrain`, `--stage=eval`), and refused runs as one-line errors."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.model_dir.stage_files import stage_weights_path
from saccader_tf.models import Saccader
from tests.support.image_folder_fixture import write_random_image_folder
from tests.support.launcher_flags import launch_in_process

TINY_FLAGS = [
    "--model=bagnet9_tiny",
    "--image_size=28",
    "--num_glimpses=3",
    "--num_targets=4",
    "--batch_size=16",
    "--epochs=1",
    "--steps=2",
    "--eval_steps=1",
    "--train_examples=64",
    "--seed=3",
]


def _launch(*flags, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "saccader_tf.launch", *TINY_FLAGS, *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _launch_here(*flags):
    """`_launch` in this process: (exit code, stdout, stderr)."""
    return launch_in_process(*TINY_FLAGS, *flags)


def _cell_weight(path):
    model = Saccader(
        num_classes=10, image_size=28, variant="bagnet9_tiny", input_channels=1, num_glimpses=3
    )
    model.build()
    model.load_weights(path)
    return model.cell.w.numpy(), [w.numpy() for w in model.representation.weights]


class LaunchTest(tf.test.TestCase):
    @pytest.mark.slow  # the launcher in a subprocess, then three runs in process
    def test_all_stages_then_stage3_restores_stage2(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        result = _launch("--stage=all", f"--model_dir={model_dir}")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        for stage in (1, 2, 3):
            self.assertTrue(os.path.exists(stage_weights_path(model_dir, stage)))
            self.assertIn(f"stage {stage} (", result.stdout)
        for policy in ("learned", "full", "ordered_logits", "random"):
            self.assertRegex(result.stdout, rf"\n{policy} +final +(\d+|all) +\d+\.\d\d%")
        for policy in ("full", "ordered_logits"):  # also measured on the stage-1 network
            self.assertRegex(result.stdout, rf"\n{policy} +stage1 +(\d+|all) +\d+\.\d\d%")
        self.assertTrue(os.path.exists(os.path.join(model_dir, "policy_accuracy.json")))
        self.assertTrue(os.listdir(os.path.join(model_dir, "logs", "stage3")))
        self.assertTrue(os.listdir(os.path.join(model_dir, "logs", "stage3", "glimpses")))
        self.assertTrue(os.path.exists(os.path.join(model_dir, "export", "1", "saved_model.pb")))

        # Stage 2 froze the representation: its checkpoint carries stage 1's BagNet unchanged.
        w1, rep1 = _cell_weight(stage_weights_path(model_dir, 1))
        w2, rep2 = _cell_weight(stage_weights_path(model_dir, 2))
        for a, b in zip(rep1, rep2):
            self.assertAllEqual(a, b)
        self.assertNotAllClose(w1, w2)  # ... and trained the cell

        # Re-running a finished stage skips it and leaves its checkpoint as it was.
        with open(stage_weights_path(model_dir, 3), "rb") as f:
            stage3_bytes = f.read()
        code, out, err = _launch_here("--stage=3", f"--model_dir={model_dir}")
        self.assertEqual(code, 0, err[-3000:])
        self.assertIn("stage 3 (policy gradient): already finished", out)
        with open(stage_weights_path(model_dir, 3), "rb") as f:
            self.assertEqual(f.read(), stage3_bytes)

        # --retrain: a separate stage-3 run with a negligible learning rate (0 is refused) keeps
        # the restored stage-2 cell weights (Adam moves each weight by about the learning rate per
        # step).
        code, out, err = _launch_here(
            "--stage=3", f"--model_dir={model_dir}", "--learning_rate=1e-12", "--retrain"
        )
        self.assertEqual(code, 0, err[-3000:])
        self.assertIn(f"restored {stage_weights_path(model_dir, 2)}", out)
        w3, _ = _cell_weight(stage_weights_path(model_dir, 3))
        self.assertAllClose(w3, w2, atol=1e-9, rtol=0)

        # --stage=eval on the trained directory writes the table and the pictures.
        code, out, err = _launch_here("--stage=eval", f"--model_dir={model_dir}", "--eval_steps=2")
        self.assertEqual(code, 0, err[-3000:])
        self.assertIn("occlusion check: full-image top-1 of the stage-1 BagNet", out)
        self.assertRegex(out, r"\nordered_logits +stage1 +12 ")
        for name in (
            "evaluation.json",
            "evaluation.csv",
            "glimpses.png",
            "accuracy_vs_glimpses.png",
        ):
            self.assertGreater(os.path.getsize(os.path.join(model_dir, "evaluation", name)), 0)

    def test_stage3_without_stage2_checkpoint_names_path_and_command(self):
        model_dir = os.path.join(self.get_temp_dir(), "empty")
        code, _, err = _launch_here("--stage=3", f"--model_dir={model_dir}")
        self.assertEqual(code, 2, err)
        self.assertIn(stage_weights_path(model_dir, 2), err)
        self.assertIn("python -m saccader_tf.launch --stage=2", err)
        self.assertNotIn("Traceback", err)

    def test_model_dir_of_another_architecture_is_refused(self):
        model_dir = os.path.join(self.get_temp_dir(), "other")
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, "model_config.json"), "w") as f:
            f.write(
                '{"variant": "bagnet33", "image_size": 224, "num_classes": 1000, '
                '"input_channels": 3}'
            )
        code, _, err = _launch_here("--stage=1", f"--model_dir={model_dir}")
        self.assertEqual(code, 2, err)
        self.assertIn("holds checkpoints of another model", err)
        self.assertIn("variant: 'bagnet33' there vs 'bagnet9_tiny' now", err)
        self.assertFalse(np.any([name.startswith("stage") for name in os.listdir(model_dir)]))

    @pytest.mark.slow  # builds the model and reads the folder
    def test_undecodable_image_in_a_folder_dataset_is_named_without_a_traceback(self):
        root = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "folder"), train=16, val=2, height=30, width=30
        )
        with open(os.path.join(root, "train", "c0", "0.png"), "r+b") as f:
            f.truncate(60)  # a valid PNG signature, a cut-off body: found only when decoded
        code, _, err = _launch_here(
            "--stage=1",
            f"--dataset=folder:{root}",
            f"--model_dir={self.get_temp_dir()}/folder_run",
            "--steps=1",
            "--batch_size=16",
        )
        self.assertEqual(code, 2, err[-3000:])
        self.assertRegex(err, r"error: .*Cannot read image file .*c0/0\.png")
        self.assertNotIn("Traceback", err)
