"""The same seed on the same machine gives bit-identical stage-1 weights and evaluation
tables (CPU)."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data import make_source
from saccader_tf.evaluation.evaluate import evaluate_model, format_table
from saccader_tf.models import Saccader
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.train_stage import train_stage


def _train(seed, model_dir):
    keras.utils.set_random_seed(seed)
    source = make_source(
        "cluttered_mnist", image_size=28, batch_size=16, seed=seed, num_train=96, num_eval=16
    )
    model = Saccader(
        num_classes=10, image_size=28, variant="bagnet9_tiny", input_channels=1, seed=seed
    )
    model.build()
    settings = StageSettings(
        epochs=1, learning_rate=0.01, steps_per_epoch=4, eval_steps=1, verbose=0
    )
    train_stage(1, model, source, settings, model_dir=model_dir, write_checkpoint=False)
    table = format_table(evaluate_model(model, source, max_glimpses=3, seed=seed, max_batches=1))
    return [w.numpy() for w in model.weights], table


class ReproducibilityTest(tf.test.TestCase):
    def test_same_seed_same_weights_other_seed_other_weights(self):
        first, first_table = _train(4, self.get_temp_dir())
        second, second_table = _train(4, self.get_temp_dir())
        other, _ = _train(5, self.get_temp_dir())
        for a, b in zip(first, second):
            self.assertAllEqual(a, b)
        self.assertFalse(all(np.array_equal(a, c) for a, c in zip(first, other)))
        self.assertIn("random", first_table)  # every policy's rows, including the seeded random one
        self.assertEqual(first_table, second_table)
