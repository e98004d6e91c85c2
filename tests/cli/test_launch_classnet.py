"""Launcher: stage 4 trains a Saccader-ClassNet's classifier (resumed, skipped); eval."""

import contextlib
import dataclasses
import functools
import io
import json
import os
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf import model_dir as checkpoints
from saccader_tf.models import Saccader, SaccaderClassNet
from saccader_tf.run import orchestrator as recipe
from tests.support.launcher_flags import flag_problem, settings_of

TINY = dict(
    model="bagnet9_tiny",
    image_size=28,
    num_glimpses=3,
    batch_size=8,
    train_examples=16,
    seed=1,
    epochs=["1"],
    steps=2,
    eval_steps=1,
)


class LaunchClassNetFlagsTest(tf.test.TestCase):
    def test_classifier_flags_that_cannot_work_are_refused(self):
        cases = [
            (
                {"stage": "4"},
                r"--stage=4 trains a Saccader-ClassNet's classifier: choose one with "
                r"--classifier=small_cnn",
            ),
            ({"classifier_image_size": 56}, r"--classifier_image_size configure"),
            (
                {"classifier": "small_cnn", "classifier_image_size": 56},
                r"generated at one size .*--classifier_image_size=56 --image_size=60",
            ),
            ({"classifier": "small_cnn", "architecture": "dram"}, r"DRAM classifies its glimpses"),
            (
                {"classifier": "small_cnn", "classifier_weights": "/nonexistent.weights.h5"},
                r"existing local weights file .*Received: --classifier_weights=/nonexistent",
            ),
            ({"epochs": ["1", "1", "1", "1", "1"]}, r"--epochs takes one value, three .* or four"),
        ]
        for overrides, message in cases:
            with self.subTest(**{k: str(v) for k, v in overrides.items()}):
                self.assertRegex(flag_problem(**overrides), message)

    def test_stage_all_includes_stage_4_with_a_classifier_which_takes_stage_1s_schedule(self):
        settings = settings_of(
            classifier="small_cnn", epochs=["3", "1", "1"], learning_rate=["0.01", "0.002", "0.001"]
        ).validate("all")
        self.assertEqual(settings.stages, [1, 2, 3, 4])
        self.assertEqual(dataclasses.replace(settings, classifier="none").stages, [1, 2, 3])
        stage4 = settings.stage_settings(4)
        self.assertEqual((stage4.epochs, stage4.learning_rate), (3, 0.01))
        four = dataclasses.replace(settings, epochs=(3, 1, 1, 2), learning_rate=(1.0, 2.0, 3.0, 4))
        stage4 = four.stage_settings(4)
        self.assertEqual((stage4.epochs, stage4.learning_rate), (2, 4.0))
        self.assertEqual(settings.classnet_image_size, 60)  # default: --image_size


class Interrupt(keras.callbacks.Callback):
    """A kill after the first step's save."""

    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt("killed")


class LaunchStage4Test(tf.test.TestCase):
    def test_stage_4_resumes_trains_only_the_classifier_then_is_skipped_and_evaluated(self):
        model_dir = os.path.join(self.get_temp_dir(), "classnet")
        settings = settings_of(
            classifier="small_cnn",
            model_dir=model_dir,
            save_every_steps=1,
            eval_policies=["learned"],
            **TINY,
        ).validate("4")
        source, saccader = recipe.build(settings, tf.distribute.get_strategy())
        checkpoints.check_model_config(model_dir, saccader.get_config())
        checkpoints.record_preprocessing(model_dir, source)
        with self.assertRaisesRegex(
            checkpoints.MissingCheckpointError,
            r"Stage 4 needs the stage-3 checkpoint .*\n.*--stage=3",
        ):
            recipe.run(settings, [4])
        stage3 = checkpoints.save_stage(saccader, model_dir, 3)  # stands for a trained Saccader
        started = self._interrupt_then_resume(settings)
        trained = checkpoints.load_trained_model(model_dir)
        self.assertIsInstance(trained, SaccaderClassNet)
        before = Saccader.from_config(saccader.get_config())
        before.build()
        before.load_weights(stage3)
        for a, b in zip(before.weights, trained.saccader.weights):
            self.assertAllEqual(a, b)  # the Saccader is stage 3's, BN statistics included
        for a, b in zip(started, trained.classifier.trainable_weights):
            self.assertFalse(np.array_equal(a, b.numpy()))  # every classifier weight trained
        self._skip_then_evaluate(settings)
        self._refuse_another_classifier(settings)

    def _interrupt_then_resume(self, settings):
        """Stage 4 killed after its first step's save, then resumed to its end; returns the
        classifier's weights as the resumed stage started them."""
        interrupted = functools.partial(recipe.train_stage, callbacks=[Interrupt()])
        with mock.patch.object(recipe, "train_stage", side_effect=interrupted):
            with self.assertRaisesRegex(KeyboardInterrupt, "killed"):
                recipe.run(settings, [4])
        self.assertFalse(checkpoints.stage_finished(settings.model_dir, 4))
        built, build_classnet = {}, recipe.build_classnet

        def spy(*args, **kwargs):  # the ClassNet as stage 4 starts it
            net = build_classnet(*args, **kwargs)
            built["classifier"] = [w.numpy().copy() for w in net.classifier.trainable_weights]
            return net

        resumed = io.StringIO()
        with mock.patch.object(recipe, "build_classnet", side_effect=spy):
            with contextlib.redirect_stdout(resumed):
                recipe.run(settings, [4])
        self.assertIn("stage 4: resuming at step 1 of 2", resumed.getvalue())
        self.assertTrue(checkpoints.stage_finished(settings.model_dir, 4))  # progress cleared
        return built["classifier"]

    def _skip_then_evaluate(self, settings):
        """A finished stage 4 is skipped; `--stage=eval` adds the ClassNet's rows."""
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            recipe.run(settings, [4])
        self.assertIn("stage 4 (ClassNet classifier): already finished", output.getvalue())
        with contextlib.redirect_stdout(output):
            recipe.evaluate(settings)
        with open(os.path.join(settings.model_dir, "evaluation", "evaluation.json")) as f:
            rows = json.load(f)["rows"]
        classnet_rows = [row["glimpses"] for row in rows if row["network"] == "classnet"]
        self.assertEqual(classnet_rows, list(range(1, 13)))  # T = 1..12 next to the Saccader's
        self.assertEqual(len([row for row in rows if row["network"] == "final"]), 12)
        self.assertIn("network: classnet = the Saccader-ClassNet", output.getvalue())

    def _refuse_another_classifier(self, settings):
        """The model_dir of a ClassNet refuses the Saccader alone, or another classifier."""
        alone = dataclasses.replace(settings, classifier="none")
        with self.assertRaisesRegex(ValueError, r"a Saccader-ClassNet \(--classifier=small_cnn"):
            recipe.check_recorded_classifier(alone, [1, 2, 3])
        config = checkpoints.load_classnet_config(settings.model_dir)
        with self.assertRaisesRegex(ValueError, r"classifier: 'small_cnn' there vs 'resnet50_v2'"):
            checkpoints.check_classnet_config(
                settings.model_dir, {**config, "classifier": "resnet50_v2"}
            )

    def test_a_recorded_classnet_without_stage_4_names_the_command(self):
        model_dir = self.get_temp_dir()
        saccader = Saccader(num_classes=3, image_size=28, variant="bagnet9_tiny", input_channels=1)
        net = SaccaderClassNet(saccader, "small_cnn", classifier_image_size=28)
        checkpoints.check_classnet_config(model_dir, net.get_config())
        with self.assertRaisesRegex(
            checkpoints.MissingCheckpointError,
            r"stage-4 checkpoint .* does not exist. Train it with `python "
            r"-m saccader_tf.launch --stage=4 --classifier=small_cnn",
        ):
            checkpoints.load_trained_model(model_dir)
