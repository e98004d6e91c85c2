"""`validation_steps`: the validation after each epoch scores that many evaluation batches, spread
over the split (default: `eval_steps`, spread alike, else the whole split), never more than the
split holds, and the stage's summary says when they are fewer than the split's."""

import dataclasses
import warnings

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data.eval_subsets import spread_batches
from saccader_tf.models import Saccader
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.train_stage import train_stage, validation_batches
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
        self.assertIn("eval (3 batches) accuracy", summary)  # 3 of the split's 4
        with warnings.catch_warnings(record=True) as caught:  # more than the split holds
            warnings.simplefilter("always")
            per_epoch, summary = self._validated(validation_steps=EVAL_BATCHES + 2)
        self.assertEqual(per_epoch, [EVAL_BATCHES] * 2)
        self.assertFalse([w for w in caught if "ran out of data" in str(w.message)])
        self.assertRegex(summary, r"eval accuracy \d\.\d{4}")  # all of it: not a subset


def _first_labels(dataset):
    return [int(labels[0]) for _, labels in dataset.as_numpy_iterator()]


class SpreadBatchesTest(tf.test.TestCase):
    def test_batches_evenly_spaced_over_the_split(self):
        ten = tf.data.Dataset.range(10).map(lambda i: (tf.zeros([1, 2]), tf.reshape(i, [1])))
        # Kept batch i is the middle of its share: floor((i + 1/2) * 10 / n).
        self.assertEqual(_first_labels(spread_batches(ten, 3)), [1, 5, 8])
        self.assertEqual(_first_labels(spread_batches(ten, 5)), [1, 3, 5, 7, 9])
        self.assertEqual(_first_labels(spread_batches(ten, 6)), [0, 2, 4, 5, 7, 9])
        self.assertEqual(int(spread_batches(ten, 6).cardinality()), 6)
        self.assertEqual(_first_labels(spread_batches(ten, 10)), list(range(10)))
        self.assertEqual(_first_labels(spread_batches(ten, 20)), list(range(10)))
        unknown = ten.filter(lambda images, labels: True)  # no cardinality: the first ones
        self.assertEqual(_first_labels(spread_batches(unknown, 3)), [0, 1, 2])

    def test_a_stage_validates_on_batches_from_the_whole_split(self):
        # An evaluation split in class order (as an image folder lists it): 4 batches, 4 classes.
        images = np.zeros((16, 24, 24, 1), np.float32)
        labels = np.repeat(np.arange(4, dtype=np.int32), 4)
        evaluation = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
        source = dataset_source(evaluation, 4, eval_dataset=evaluation, name="classes")
        spread = StageSettings(epochs=1, learning_rate=0.01, validation_steps=2)
        dataset, steps = validation_batches(source, spread)
        self.assertEqual((_first_labels(dataset), steps), ([1, 3], 2))
        capped = StageSettings(epochs=1, learning_rate=0.01, eval_steps=2)  # spread alike
        dataset, steps = validation_batches(source, capped)
        self.assertEqual((_first_labels(dataset), steps), ([1, 3], 2))

    def test_a_split_of_unknown_length_is_measured_from_its_size(self):
        # A streamed folder's split (files read by an interleave): tf.data cannot tell its
        # length, so its size and the batch size give it (16 images / 4 = 4 batches).
        images = np.zeros((16, 24, 24, 1), np.float32)
        labels = np.repeat(np.arange(4, dtype=np.int32), 4)
        split = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
        unknown = split.filter(lambda images, labels: True)
        source = dataset_source(split, 4, eval_dataset=unknown, name="streamed")
        source = dataclasses.replace(source, eval_size=16, batch_size=4)
        dataset, steps = validation_batches(
            source, StageSettings(epochs=1, learning_rate=0.01, validation_steps=2)
        )
        self.assertEqual((_first_labels(dataset), steps), ([1, 3], 2))
        dataset, steps = validation_batches(
            source, StageSettings(epochs=1, learning_rate=0.01, validation_steps=9)
        )
        self.assertEqual((_first_labels(dataset), steps), ([0, 1, 2, 3], 4))  # capped at 4
