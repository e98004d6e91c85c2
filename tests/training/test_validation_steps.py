"""`validation_steps`: the validation after each epoch scores that many evaluation batches
(default: `eval_steps`, else the whole split), and the stage's summary says so."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models import Saccader
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.train_stage import train_stage
from tests.support.sources import dataset_source

EVAL_BATCHES = 4


class CountValidationBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = []

    def on_test_begin(self, logs=None):
        self.per_epoch.append(0)

    def on_test_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def _source():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, 5, 32).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    return dataset_source(train, 5, eval_dataset=train.take(EVAL_BATCHES), name="validation")


class ValidationStepsTest(tf.test.TestCase):
    def _validated(self, **steps):
        model = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, num_glimpses=2
        )
        model.build()
        settings = StageSettings(
            epochs=2, steps_per_epoch=2, learning_rate=0.01, verbose=0, **steps
        )
        counter = CountValidationBatches()
        model_dir = self.create_tempdir().full_path
        result = train_stage(
            1, model, _source(), settings, model_dir=model_dir, callbacks=[counter]
        )
        return counter.per_epoch, result["summary"]

    def test_validation_steps_cap_each_epochs_validation_and_are_named(self):
        per_epoch, summary = self._validated()  # the whole evaluation split
        self.assertEqual(per_epoch, [EVAL_BATCHES] * 2)
        self.assertRegex(summary, r"eval accuracy \d\.\d{4}")
        per_epoch, summary = self._validated(validation_steps=1)
        self.assertEqual(per_epoch, [1, 1])
        self.assertRegex(summary, r"eval \(1 batch\) accuracy \d\.\d{4}")
        per_epoch, summary = self._validated(eval_steps=3, validation_steps=2)
        self.assertEqual(per_epoch, [2, 2])
        self.assertIn("eval (2 batches) accuracy", summary)
        per_epoch, summary = self._validated(eval_steps=3)  # the default: eval_steps
        self.assertEqual(per_epoch, [3, 3])
        self.assertRegex(summary, r"eval accuracy \d\.\d{4}")
