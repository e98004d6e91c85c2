"""`--skip_stage2` (the paper's no-pretraining ablation) through `launch`: stage 3 asks for and
starts from stage 1's weights, and `--stage=all` runs stages 1 and 3."""

import os
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.data.source import DataSource, fixed_epochs
from saccader_tf.model_dir import stage_files as checkpoints
from saccader_tf.run import orchestrator as recipe
from saccader_tf.run.settings import RunSettings


class SkipStage2Test(tf.test.TestCase):
    def test_stage3_with_skip_stage2_asks_for_stage1(self):
        model_dir = self.get_temp_dir() + "/no_stage1"
        settings = RunSettings(
            model="bagnet9_tiny",
            image_size=28,
            num_glimpses=2,
            num_targets=2,
            batch_size=8,
            train_examples=16,
            model_dir=model_dir,
            skip_stage2=True,
            save_every_steps=0,
        )
        with mock.patch.object(recipe, "data_source", lambda s, **_: _tiny_source()):
            with self.assertRaises(checkpoints.MissingCheckpointError) as raised:
                recipe.launch(settings, "3")
        message = str(raised.exception)
        self.assertIn(checkpoints.stage_weights_path(model_dir, 1), message)
        self.assertIn("--stage=1", message)
        self.assertNotIn("stage2", message)

    def test_stage3_with_skip_stage2_restores_stage1(self):
        model_dir = self.get_temp_dir() + "/with_stage1"
        settings = RunSettings(
            model="bagnet9_tiny",
            image_size=28,
            num_glimpses=2,
            num_targets=2,
            model_dir=model_dir,
            skip_stage2=True,
        )
        restored, trained = [], []
        real_restore = checkpoints.restore_stage

        def recording_restore(model, directory, stage, command):
            restored.append((stage, float(model.cell.w.numpy()[0])))
            return real_restore(model, directory, stage, command)

        def fake_train(stage, model, source, stage_settings, **kwargs):
            trained.append((stage, stage_settings.skip_stage2, float(model.cell.w.numpy()[0])))
            return {"summary": f"stage {stage}: not trained (test)"}

        with (
            mock.patch.object(recipe, "data_source", lambda s, **_: _tiny_source()),
            mock.patch.object(checkpoints, "restore_stage", recording_restore),
            mock.patch.object(recipe, "train_stage", fake_train),
        ):
            source, model = recipe.build(settings, tf.distribute.get_strategy())
            model.cell.w.assign(tf.fill(model.cell.w.shape, 0.25))  # marks stage 1's weights
            checkpoints.save_stage(model, model_dir, 1)
            recipe.launch(settings, "3")
        self.assertEqual([stage for stage, _ in restored], [1])
        self.assertEqual(trained, [(3, True, 0.25)])  # stage 3 starts from stage 1's weights


def _tiny_source():
    """A hand-made 28 px, 10-class source (the launcher's data without generating any)."""
    images = np.zeros((8, 28, 28, 1), "float32")
    batches = tf.data.Dataset.from_tensor_slices((images, np.zeros(8, "int32"))).batch(8)
    return DataSource(
        train_epoch=fixed_epochs(batches),
        eval=batches,
        num_classes=10,
        image_size=28,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="hand",
    )


@pytest.mark.slow  # trains stages 1 and 3 (one step each), compares policies and exports
class SkipStage2RunTest(tf.test.TestCase):
    def test_all_runs_stages_1_and_3_and_stage3_starts_from_stage1(self):
        model_dir = self.get_temp_dir() + "/skip_stage2"
        settings = RunSettings(
            model="bagnet9_tiny",
            image_size=28,
            num_glimpses=2,
            num_targets=2,
            batch_size=8,
            epochs=(1, 1, 1),
            steps=1,
            eval_steps=1,
            model_dir=model_dir,
            skip_stage2=True,
            save_every_steps=0,
            eval_policies=("learned",),
            eval_policies_given=True,
            verbose=0,
        )
        restored = []
        real_restore = checkpoints.restore_stage

        def recording_restore(model, directory, stage, command):
            restored.append(stage)
            return real_restore(model, directory, stage, command)

        with (
            mock.patch.object(recipe, "data_source", lambda s, **_: _tiny_source()),
            mock.patch.object(checkpoints, "restore_stage", recording_restore),
        ):
            recipe.launch(settings, "all")
            self.assertEqual(restored, [])  # stage 3 went on from stage 1's weights in memory
            self.assertTrue(checkpoints.stage_finished(model_dir, 1))
            self.assertFalse(checkpoints.stage_finished(model_dir, 2))
            self.assertTrue(checkpoints.stage_finished(model_dir, 3))
            self.assertTrue(os.path.isdir(os.path.join(model_dir, "export")))


if __name__ == "__main__":
    tf.test.main()
