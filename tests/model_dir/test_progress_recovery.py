"""Saved progress survives damage: a missing or garbled `checkpoint` state file, or a corrupt newest
save, costs at most a fall-back to the newest usable save (with a note), never the saves themselves;
and a resume under changed data or model settings is refused (issue 16, items 4, 5 and 8).

The saves are made directly with `StageProgress` (no training step is needed to test how they are
found and checked): save at step 4, change the weights, save at step 5, then damage files.
"""

import glob
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data.source import DataSource, fixed_epochs
from saccader_tf.model_dir.progress import StageProgress, saves_on_disk
from saccader_tf.models import Saccader
from saccader_tf.training.train_stage import stage_plan


def _model(**overrides):
    config = dict(
        num_classes=3,
        image_size=28,
        variant="bagnet9_tiny",
        input_channels=1,
        num_glimpses=2,
        seed=0,
    )
    model = Saccader(**{**config, **overrides})
    model.build()
    return model


def _progress(directory, model=None, plan=None):
    model = model or _model()
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    return StageProgress(directory, model, optimizer, plan or {"stage": 1}), model


def _source(batch_size=4, **settings):
    images = np.zeros((8, 28, 28, 1), "float32")
    train = tf.data.Dataset.from_tensor_slices((images, np.zeros(8, "int32"))).batch(
        batch_size, drop_remainder=True
    )
    return DataSource(
        train_epoch=fixed_epochs(train),
        eval=train,
        num_classes=3,
        image_size=28,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="hand_made",
        settings=settings,
    )


class ProgressRecoveryTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.directory = os.path.join(self.get_temp_dir(), f"progress_{self._testMethodName}")
        shutil.rmtree(self.directory, ignore_errors=True)
        progress, model = _progress(self.directory)
        self.assertEqual(progress.start(), 0)
        progress.optimizer.iterations.assign(4)
        progress.save()
        self.kernel = model.cell.w
        self.kernel.assign(tf.fill(self.kernel.shape, 5.0))
        progress.optimizer.iterations.assign(5)
        progress.save()

    def _resume(self):
        progress, model = _progress(self.directory)
        step = progress.start()
        return step, progress, float(model.cell.w.numpy().flat[0])

    def _data_file(self, step):
        return glob.glob(os.path.join(self.directory, f"ckpt-{step}.data-*"))[0]

    def test_intact_saves_resume_from_the_newest(self):
        step, progress, w = self._resume()
        self.assertEqual((step, w), (5, 5.0))
        self.assertEmpty(progress.notes)

    def test_missing_state_file_resumes_from_the_newest_save_on_disk(self):
        os.remove(os.path.join(self.directory, "checkpoint"))
        step, progress, w = self._resume()
        self.assertEqual((step, w), (5, 5.0))
        self.assertEqual(progress.restored_from, os.path.join(self.directory, "ckpt-5"))
        self.assertTrue(os.path.exists(self._data_file(4)))  # nothing was deleted

    def test_garbled_state_file_resumes_from_the_newest_save_on_disk(self):
        with open(os.path.join(self.directory, "checkpoint"), "wb") as f:
            f.write(b"\x00\xffgarbage{{{\n model_checkpoint_path: 7")
        step, progress, w = self._resume()
        self.assertEqual((step, w), (5, 5.0))
        progress.optimizer.iterations.assign(6)
        progress.save()  # and saving goes on
        self.assertEqual(saves_on_disk(self.directory)[0], os.path.join(self.directory, "ckpt-6"))

    def _assert_falls_back_to_step_4(self, damage):
        damage()
        step, progress, w = self._resume()
        self.assertEqual(step, 4)
        self.assertNotEqual(w, 5.0)  # the step-4 weights, not the damaged step-5 ones
        self.assertLen(progress.notes, 1)
        self.assertRegex(progress.notes[0], r"cannot resume from .*ckpt-5: \S")

    def test_truncated_data_file_falls_back(self):
        def damage():
            path = self._data_file(5)
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)

        self._assert_falls_back_to_step_4(damage)

    def test_flipped_bytes_fall_back(self):
        def damage():
            path = self._data_file(5)
            with open(path, "r+b") as f:
                data = bytearray(f.read())
                for i in range(len(data) // 3, len(data) // 3 + 64):
                    data[i] ^= 0xFF
                f.seek(0)
                f.write(data)

        self._assert_falls_back_to_step_4(damage)

    def test_truncated_or_deleted_index_falls_back(self):
        index = os.path.join(self.directory, "ckpt-5.index")
        with open(index, "r+b") as f:
            f.truncate(10)
        self._assert_falls_back_to_step_4(lambda: None)
        os.remove(index)
        self._assert_falls_back_to_step_4(lambda: None)

    def test_save_with_non_finite_weights_falls_back(self):
        progress, model = _progress(self.directory)
        progress.start()
        model.cell.w.assign(tf.fill(model.cell.w.shape, np.nan))
        progress.optimizer.iterations.assign(6)
        progress.save()  # a save written by an older version without the finite check
        step, progress, w = self._resume()
        self.assertEqual((step, w), (5, 5.0))
        self.assertRegex(progress.notes[0], r"ckpt-6: .*non-finite")

    def test_no_usable_save_starts_again_and_says_so(self):
        for step in (4, 5):
            os.remove(os.path.join(self.directory, f"ckpt-{step}.index"))
        step, progress, _ = self._resume()
        self.assertEqual(step, 0)
        self.assertRegex(progress.notes[-1], r"no usable save .* starts again from step 0")


class ChangedSettingsRefusedTest(tf.test.TestCase):
    """`stage_plan` (what `train_stage` records) holds the data source's settings, the batch size
    and the model's config, so a resume under any changed one is refused."""

    def _assert_refused(self, first, second, pattern):
        directory = os.path.join(self.get_temp_dir(), f"plan_{self._testMethodName}_{pattern[:8]}")
        shutil.rmtree(directory, ignore_errors=True)
        progress, _ = _progress(directory, plan=first)
        progress.start()
        progress.optimizer.iterations.assign(3)
        progress.save()
        progress, _ = _progress(directory, plan=second)
        with self.assertRaisesRegex(ValueError, pattern + r".*--retrain"):
            progress.start()

    def test_changed_data_settings_are_refused(self):
        model, common = _model(), dict(epochs=1, steps_per_epoch=2, learning_rate=0.01)
        for key, other in (("seed", 2), ("train_examples", 64), ("num_clutter", 8)):
            with self.subTest(key=key):
                first = stage_plan(
                    1, model, _source(seed=1, train_examples=32, num_clutter=4), **common
                )
                changed = {**dict(seed=1, train_examples=32, num_clutter=4), key: other}
                second = stage_plan(1, model, _source(**changed), **common)
                self._assert_refused(first, second, rf"data_settings: .*'{key}'")

    def test_changed_batch_size_and_model_are_refused(self):
        model = _model()
        first = stage_plan(1, model, _source(batch_size=4), epochs=1)
        self._assert_refused(
            first, stage_plan(1, model, _source(batch_size=2), epochs=1), r"batch_size: 4 -> 2"
        )
        second = stage_plan(1, _model(num_glimpses=3), _source(batch_size=4), epochs=1)
        self._assert_refused(first, second, r"model: .*'num_glimpses': 2")

    def test_garbled_plan_is_named(self):
        directory = os.path.join(self.get_temp_dir(), "garbled_plan")
        progress, _ = _progress(directory)
        progress.start()
        progress.save()
        with open(os.path.join(directory, "plan.json"), "w") as f:
            f.write("{not json")
        with self.assertRaisesRegex(ValueError, r"plan\.json is not valid JSON .*--retrain"):
            _progress(directory)[0].start()
        with open(os.path.join(directory, "plan.json"), "w") as f:
            json.dump([], f)
        with self.assertRaisesRegex(ValueError, r"plan\.json holds a JSON list"):
            _progress(directory)[0].start()
