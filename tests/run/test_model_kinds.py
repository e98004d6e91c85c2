"""The run's model kinds: which one a run or a model_dir gets, and what each trains, titles and
evaluates; DRAM through the one run path (its one stage kept as stage 3, its own summary line,
its own policies)."""

import contextlib
import io
import json
import os

import pytest
import tensorflow as tf

from saccader_tf.model_dir import stage_files
from saccader_tf.run import orchestrator
from saccader_tf.run.model_kinds import (
    ClassNetKind,
    DRAMKind,
    SaccaderKind,
    kind_of_model_dir,
    kind_of_settings,
)
from saccader_tf.run.settings import RunSettings


def _write(model_dir, name, record):
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, name), "w") as f:
        json.dump(record, f)


class KindChoiceTest(tf.test.TestCase):
    def test_kind_of_settings(self):
        self.assertIsInstance(kind_of_settings(RunSettings()), SaccaderKind)
        self.assertNotIsInstance(kind_of_settings(RunSettings()), (ClassNetKind, DRAMKind))
        self.assertIsInstance(kind_of_settings(RunSettings(classifier="small_cnn")), ClassNetKind)
        self.assertIsInstance(kind_of_settings(RunSettings(architecture="dram")), DRAMKind)

    def test_kind_of_model_dir_reads_the_records(self):
        saccader_dir = os.path.join(self.get_temp_dir(), "saccader")
        sizes = {"num_classes": 10, "image_size": 28, "input_channels": 1}
        _write(saccader_dir, "model_config.json", {"variant": "bagnet9_tiny", **sizes})
        self.assertEqual(kind_of_model_dir(saccader_dir).name, "saccader")
        dram_dir = os.path.join(self.get_temp_dir(), "dram")
        _write(dram_dir, "model_config.json", {"variant": "dram_tiny", **sizes})
        self.assertEqual(kind_of_model_dir(dram_dir).name, "dram")
        _write(saccader_dir, "classnet_config.json", {"classifier": "small_cnn"})
        self.assertEqual(kind_of_model_dir(saccader_dir).name, "classnet")


class KindBehaviourTest(tf.test.TestCase):
    def test_saccader_stages_and_titles(self):
        kind, settings = SaccaderKind(), RunSettings(skip_stage2=True)
        self.assertEqual(kind.stages_to_train(settings, [1, 3]), [1, 3])
        self.assertEqual(kind.previous_stage(settings, 3), 1)
        self.assertIsNone(kind.previous_stage(settings, 1))
        titles = [kind.trainer_spec(stage).title for stage in (1, 2, 3, 4)]
        self.assertEqual(
            titles,
            [
                "stage 1 (representation)",
                "stage 2 (location pretraining)",
                "stage 3 (policy gradient)",
                "stage 4 (ClassNet classifier)",
            ],
        )
        self.assertFalse(kind.wraps_in_classnet(4))
        self.assertTrue(ClassNetKind().wraps_in_classnet(4))
        self.assertFalse(ClassNetKind().wraps_in_classnet(3))

    def test_dram_trains_one_stage_kept_as_stage_3(self):
        kind = DRAMKind()
        settings = RunSettings(
            architecture="dram", epochs=(4, 1, 1), learning_rate=(0.5, 0.1, 0.1), num_targets=2
        )
        self.assertEqual(kind.stages_to_train(settings, settings.stages), [3])
        self.assertEqual(kind.stages_to_train(settings, [3]), [3])
        self.assertIsNone(kind.previous_stage(settings, 3))
        with self.assertRaisesRegex(ValueError, r"one training stage.*stages=\[1\]"):
            kind.stages_to_train(settings, [1])
        with self.assertRaisesRegex(ValueError, r"skip_stage2 applies to the Saccader"):
            kind.stages_to_train(RunSettings(architecture="dram", skip_stage2=True), [1, 3])
        stage = kind.stage_settings(settings, 3)
        self.assertEqual((stage.epochs, stage.learning_rate), (4, 0.5))  # the first values
        self.assertEqual(stage.num_targets, 12)  # a Saccader setting, at its default
        self.assertEqual(kind.trainer_spec(3).title, "DRAM (one stage)")
        self.assertEqual(kind.trainer_spec(3).name, "dram")
        self.assertEqual(
            kind.comparison_options(settings), {"policies": ("learned", "random", "center")}
        )
        options = kind.evaluation_options(settings, source=None)
        self.assertEqual(
            options, {"policies": ("learned", "random", "center"), "occlusion_glimpses": ()}
        )
        self.assertIsNone(kind.stage1(settings, model=None))


@pytest.mark.slow  # trains DRAM for one step, compares its policies, exports, evaluates
class DRAMRunTest(tf.test.TestCase):
    def test_dram_runs_through_the_one_run_path(self):
        model_dir = os.path.join(self.get_temp_dir(), "dram")
        settings = RunSettings(
            architecture="dram",
            dram_model="dram_tiny",
            model="bagnet9_tiny",  # the settings check the Saccader's grid too
            image_size=28,
            num_glimpses=2,
            batch_size=8,
            train_examples=16,
            epochs=(1, 1, 1),
            steps=1,
            eval_steps=1,
            save_every_steps=0,
            verbose=0,
            model_dir=model_dir,
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            orchestrator.launch(settings, "all")
        lines = out.getvalue().splitlines()
        path = stage_files.stage_weights_path(model_dir, 3)
        trained = [
            line for line in lines if line.startswith("DRAM (one stage): 1 epoch(s), 1 steps")
        ]
        self.assertLen(trained, 2)  # as it ends, and in the summary
        self.assertEqual(lines[lines.index("summary:") + 1], trained[0])
        self.assertTrue(trained[0].endswith(f"; checkpoint {path}"))
        self.assertNotIn("policy gradient", out.getvalue())
        self.assertTrue(stage_files.stage_finished(model_dir, 3))
        self.assertFalse(os.path.exists(os.path.join(model_dir, "stage1")))
        with open(os.path.join(model_dir, "policy_accuracy.json")) as f:
            compared = json.load(f)
        self.assertEqual(set(compared["final"]), {"learned", "random", "center"})
        self.assertNotIn("stage1", compared)
        self.assertTrue(os.path.exists(os.path.join(model_dir, "export", "1", "saved_model.pb")))

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            orchestrator.launch(settings, "all")  # finished: skipped, compared and exported again
            orchestrator.launch(settings, "eval")
        self.assertIn(f"DRAM (one stage): already finished in {path}; skipped", out.getvalue())
        self.assertNotIn("no stage-1 network", err.getvalue())  # DRAM has none to miss
        with open(os.path.join(model_dir, "evaluation", "evaluation.json")) as f:
            evaluation = json.load(f)
        policies = {row["policy"] for row in evaluation["rows"]}
        self.assertEqual(policies, {"learned", "random", "center"})
        self.assertEqual({row["network"] for row in evaluation["rows"]}, {"final"})
