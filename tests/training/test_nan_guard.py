"""A poisoned batch stops the stage with a message, and the last good checkpoint survives."""

import os

import numpy as np
import tensorflow as tf

from saccader_tf.model_dir.stage_files import progress_dir, stage_weights_path
from saccader_tf.models import Saccader
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.nan_guard import NonFiniteLossError
from saccader_tf.training.train_stage import train_stage
from tests.support.sources import dataset_source


def _source(poison_batch=None):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, 5, 32).astype("int32")
    if poison_batch is not None:
        images[8 * poison_batch + 3, 5, 5, 0] = np.nan
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    name = "poisoned" if poison_batch is not None else "clean"
    return dataset_source(train, 5, eval_dataset=train.take(1), name=name)


def _train(model, source, model_dir):
    return train_stage(
        1,
        model,
        source,
        StageSettings(epochs=1, learning_rate=0.01, verbose=0),
        model_dir=model_dir,
    )


class NonFiniteLossGuardTest(tf.test.TestCase):
    def test_poisoned_batch_stops_the_stage_and_keeps_the_good_checkpoint(self):
        model_dir = self.get_temp_dir()
        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()
        _train(model, _source(), model_dir)  # a good stage-1 checkpoint
        path = stage_weights_path(model_dir, 1)
        with open(path, "rb") as f:
            good_bytes = f.read()

        # The NaN pixel reaches the loss at step 3 (batch 2), or, where the CPU's oneDNN ReLU maps
        # NaN to 0, only the gradients: then the weights are found non-finite before the stage
        # file.
        with self.assertRaisesRegex(
            NonFiniteLossError,
            r"non-finite (at its training step 3 \(batch 2 of its epoch\)"
            r".*loss=nan.*patch_ce=nan|by its training step [34] .*kernel).*checkpoint was "
            r"not written",
        ):
            _train(model, _source(poison_batch=2), model_dir)  # the stage's 3rd step
        with open(path, "rb") as f:
            self.assertEqual(f.read(), good_bytes)
        self.assertFalse(all(np.all(np.isfinite(w.numpy())) for w in model.weights))

        restored = Saccader(num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1)
        restored.build()
        restored.load_weights(path)
        self.assertTrue(all(np.all(np.isfinite(w.numpy())) for w in restored.weights))
        self.assertFalse(os.path.exists(path[: -len(".weights.h5")] + ".partial.weights.h5"))

    def test_clean_data_passes(self):
        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()
        result = _train(model, _source(), self.get_temp_dir())
        self.assertTrue(np.isfinite(result["train"]["loss"]))

    def test_progress_saves_stop_before_the_poisoned_step(self):
        model_dir = self.get_temp_dir()
        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()
        with self.assertRaises(NonFiniteLossError):
            train_stage(
                1,
                model,
                _source(poison_batch=2),
                StageSettings(epochs=1, learning_rate=0.01, verbose=0, save_every_steps=1),
                model_dir=model_dir,
            )
        latest = tf.train.latest_checkpoint(progress_dir(model_dir, 1))
        self.assertEqual(latest.rsplit("-", 1)[1], "2")  # steps 1 and 2 saved, not the NaN step 3
        saved = [
            tf.train.load_variable(latest, name)
            for name, _ in tf.train.list_variables(latest)
            if name.startswith("model/")
        ]
        self.assertNotEmpty(saved)
        self.assertTrue(all(np.all(np.isfinite(value)) for value in saved))

    def test_label_outside_the_classes_is_named(self):
        rng = np.random.default_rng(0)
        images = rng.uniform(size=(16, 24, 24, 1)).astype("float32")
        labels = np.array([0, 1, 2, 3, 4, 0, 1, 7] * 2, "int32")  # 7 >= num_classes
        train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
        source = dataset_source(train, 5, name="bad_labels")
        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, r"Labels must lie in \[0, num_classes=5\)"
        ):
            _train(model, source, self.get_temp_dir())


class NonFiniteWeightsNeverSavedTest(tf.test.TestCase):
    """A step whose loss is finite can still write NaN weights (the update follows the loss): no
    save may hold them. Crafted with an optimizer whose learning rate is NaN, so step 1's loss is
    finite and every weight it updates becomes NaN."""

    def _train_with_nan_updates(self, model_dir, **kwargs):
        from unittest import mock

        import keras

        from saccader_tf.training import train_stage as run_stage

        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()

        def nan_optimizer(name, learning_rate, total_steps=None, **schedule):
            return keras.optimizers.SGD(float("nan"))

        with mock.patch.object(run_stage, "make_optimizer", nan_optimizer):
            with self.assertRaisesRegex(
                NonFiniteLossError,
                r"weight tensor\(s\) became non-finite by its training "
                r"step 1 .*while the loss stayed finite.*checkpoint was not written",
            ):
                train_stage(
                    1,
                    model,
                    _source(),
                    StageSettings(epochs=1, learning_rate=0.01, verbose=0, **kwargs),
                    model_dir=model_dir,
                )

    def test_no_progress_save_holds_a_non_finite_weight(self):
        model_dir = self.get_temp_dir()
        self._train_with_nan_updates(model_dir, save_every_steps=1)
        saves = [name for name in os.listdir(progress_dir(model_dir, 1)) if name.endswith(".index")]
        self.assertEmpty(saves)  # step 1 made NaN weights: nothing saved after it

    def test_stage_file_is_not_written_with_non_finite_weights(self):
        model_dir = self.get_temp_dir()
        self._train_with_nan_updates(
            model_dir, steps_per_epoch=1
        )  # one step: the loss never turns NaN
        self.assertFalse(os.path.exists(stage_weights_path(model_dir, 1)))
