"""Launcher: --readout builds the Saccader's readout; --eval_policies rows in
--stage=eval."""

import json
import os

import tensorflow as tf
from absl.testing import flagsaver

from saccader_tf import model_dir as checkpoints
from saccader_tf.cli import launcher
from saccader_tf.run import orchestrator as recipe
from tests.support.launcher_flags import flag_problem

TINY = dict(
    model="bagnet9_tiny", image_size=28, num_glimpses=3, batch_size=8, train_examples=16, seed=1
)


class LaunchPoliciesReadoutTest(tf.test.TestCase):
    def test_bad_policy_names_and_dram_readout_are_refused(self):
        cases = [
            (
                {"eval_policies": ["learned", "sobel"]},
                r"--eval_policies takes names from .*sobel_var"
                r".*Received: --eval_policies=learned,sobel",
            ),
            ({"architecture": "dram", "readout": "soft"}, r"--readout applies to the Saccader"),
        ]
        for overrides, message in cases:
            with self.subTest(**{k: str(v) for k, v in overrides.items()}):
                self.assertRegex(flag_problem(**overrides), message)

    def test_soft_readout_flag_is_built_and_recorded_then_evaluated_with_the_new_policies(self):
        model_dir = os.path.join(self.get_temp_dir(), "soft")
        policies = ["learned", "sobel_mean", "sobel_var", "random_tf1", "center_tf1", "center"]
        with flagsaver.flagsaver(
            readout="soft", model_dir=model_dir, eval_steps=1, eval_policies=policies, **TINY
        ):
            settings = launcher.settings_from_flags().validate("eval")
            source, saccader = recipe.build(settings, tf.distribute.get_strategy())
            self.assertEqual(saccader.readout, "soft")
            checkpoints.check_model_config(model_dir, saccader.get_config())
            checkpoints.record_preprocessing(model_dir, source)
            checkpoints.save_stage(saccader, model_dir, 3)
            recipe.evaluate(settings)
        with open(os.path.join(model_dir, "evaluation", "evaluation.json")) as f:
            rows = json.load(f)["rows"]
        self.assertEqual({row["policy"] for row in rows}, set(policies))
        self.assertLen(rows, 12 * len(policies))  # T = 1..12 for each glimpse policy
        recorded = checkpoints.load_model_config(model_dir)
        self.assertEqual(recorded["readout"], "soft")
        with flagsaver.flagsaver(model_dir=model_dir, readout="soft", **TINY):
            recipe.check_recorded_readout(
                launcher.settings_from_flags(), recorded
            )  # the same readout continues
            with flagsaver.as_parsed(readout="hard"):
                with self.assertRaisesRegex(
                    ValueError, r"trained with --readout=soft.*Received: --readout=hard"
                ):
                    recipe.check_recorded_readout(launcher.settings_from_flags(), recorded)
                # --stage=eval with an explicit --readout reads the same weights out the hard way.
                hard = recipe.with_readout_flag(launcher.settings_from_flags(), saccader)
            self.assertIs(
                recipe.with_readout_flag(launcher.settings_from_flags(), saccader), saccader
            )  # not given
        self.assertEqual((hard.readout, saccader.readout), ("hard", "soft"))
        for a, b in zip(hard.weights, saccader.weights):
            self.assertAllEqual(a, b)
