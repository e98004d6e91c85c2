"""Reproduction switches (issue 12): each changes the quantity it names and nothing else, and each
is off by default (the default gives today's value)."""

import contextlib
import math
import socket
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from saccader_tf.data import imagenet_preprocessing
from saccader_tf.data.recipes import Recipe
from saccader_tf.data.tfds_source import tfds_source
from saccader_tf.models.policies import LearnedPolicy
from saccader_tf.training import PolicyGradientTrainer
from saccader_tf.training.losses import decayed_variables, l2_penalty
from saccader_tf.training.rewards import correct_prediction_reward
from saccader_tf.training.schedules import learning_rate_schedule
from test_trainers import _data, _labels_with_three_correct, _model


def _decayed_by_hand(model):
    """(classification, location) kernels of `model` as numpy arrays, chosen by name and rank."""
    location = {id(v) for v in model.location_variables}
    kept = [v for v in model.trainable_variables
            if len(v.shape) >= 2 or v.path.split("/")[-1] in ("kernel", "w")]
    return ([v.numpy().astype("float64") for v in kept if id(v) not in location],
            [v.numpy().astype("float64") for v in kept if id(v) in location])


class NormalizedL2Test(tf.test.TestCase):
    def test_normalized_penalty_equals_hand_value_with_separate_location_weight(self):
        model = _model(seed=3)
        classification, location = _decayed_by_hand(model)
        self.assertNotEmpty(classification)
        self.assertNotEmpty(location)
        trainer = PolicyGradientTrainer(model, weight_decay=0.3, l2="normalized",
                                        location_weight_decay=0.7)
        expected = (0.3 * sum(np.mean(w ** 2) for w in classification)
                    + 0.7 * sum(np.mean(w ** 2) for w in location))
        self.assertAllClose(trainer.weight_decay_penalty(), expected, rtol=1e-6)
        same = PolicyGradientTrainer(model, weight_decay=0.3, l2="normalized")  # λ_loc = λ
        every = classification + location
        self.assertAllClose(same.weight_decay_penalty(),
                            0.3 * sum(np.mean(w ** 2) for w in every), rtol=1e-6)

    def test_default_is_todays_sum_of_squares_and_location_weight_changes_only_its_part(self):
        model = _model(seed=3)
        classification, location = _decayed_by_hand(model)
        default = PolicyGradientTrainer(model, weight_decay=0.3).weight_decay_penalty()
        todays = l2_penalty(decayed_variables(model.trainable_variables), 0.3)
        self.assertEqual(float(default), float(todays))  # bit for bit
        every = classification + location
        self.assertAllClose(default, 0.3 * sum(np.sum(w ** 2) / 2 for w in every), rtol=1e-6)
        other = PolicyGradientTrainer(model, weight_decay=0.3, location_weight_decay=0.0)
        self.assertAllClose(other.weight_decay_penalty(),
                            0.3 * sum(np.sum(w ** 2) / 2 for w in classification), rtol=1e-6)

    def test_bad_values_are_refused(self):
        model = _model()
        with self.assertRaisesRegex(ValueError, "Received: l2='mean'"):
            PolicyGradientTrainer(model, l2="mean")
        with self.assertRaisesRegex(ValueError, "Received: location_weight_decay=-1"):
            PolicyGradientTrainer(model, location_weight_decay=-1)


class PunishmentRewardTest(tf.test.TestCase):
    def test_reward_values_on_a_hand_made_batch(self):
        logits = tf.constant([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 1.0, 0.0]])
        labels = tf.constant([0, 2, 2, 1])  # right, wrong, right, wrong (a tie goes to class 0)
        self.assertAllEqual(correct_prediction_reward(logits, labels), [1.0, 0.0, 1.0, 0.0])
        self.assertAllEqual(correct_prediction_reward(logits, labels, "punishment"),
                            [1.0, -1.0, 1.0, -1.0])
        with self.assertRaisesRegex(ValueError, "Received: kind='sparse'"):
            correct_prediction_reward(logits, labels, "sparse")

    def test_punishment_doubles_the_reinforce_term_and_changes_nothing_else(self):
        model, images = _model(seed=1), _data(seed=1)[0]
        model.policy = LearnedPolicy(model.cell, sample=False)  # deterministic: same cells twice
        predictions = np.argmax(model(images, training=True)["logits"].numpy(), axis=-1)
        labels = _labels_with_three_correct(predictions)  # rewards 3 of 8: the advantage is not 0
        binary = PolicyGradientTrainer(model, weight_decay=1e-3)
        punish = PolicyGradientTrainer(model, weight_decay=1e-3, reward="punishment")
        loss_b, logs_b = binary.compute_losses(images, labels, training=True)
        loss_p, logs_p = punish.compute_losses(images, labels, training=True)
        self.assertNotAllClose(logs_b["reinforce"], 0.0)
        self.assertAllClose(logs_p["reinforce"], 2 * logs_b["reinforce"], rtol=1e-6)
        self.assertAllClose(logs_b["reward"], 3 / 8)
        self.assertAllClose(logs_p["reward"], 2 * 3 / 8 - 1)
        for name in ("glimpse_ce", "full_image_ce", "accuracy", "full_accuracy"):
            self.assertEqual(float(logs_p[name]), float(logs_b[name]), name)
        self.assertAllClose(loss_p - loss_b, logs_b["reinforce"], rtol=1e-5)


@contextlib.contextmanager
def _offline_mock(num_examples):
    def refuse(sock, address, *args, **kwargs):
        raise OSError(f"network disabled in tests: {address}")

    with tfds.testing.mock_data(num_examples=num_examples), \
            mock.patch.object(socket.socket, "connect", refuse):
        yield


class BackgroundClassTest(tf.test.TestCase):
    def test_imagenet_gets_1001_classes_and_labels_shift_by_one(self):
        kwargs = dict(image_size=16, batch_size=4, seed=2, data_dir=self.get_temp_dir())
        with _offline_mock(num_examples=8):
            plain = tfds_source("imagenet2012", **kwargs)
            shifted = tfds_source("imagenet2012", background_class=True, **kwargs)
            plain_train = next(iter(plain.train_epoch(0)))
            shifted_train = next(iter(shifted.train_epoch(0)))
            plain_eval, shifted_eval = next(iter(plain.eval)), next(iter(shifted.eval))
        self.assertEqual((plain.num_classes, shifted.num_classes), (1000, 1001))
        self.assertEqual(shifted.class_names, ("background",) + plain.class_names)
        for before, after in ((plain_train, shifted_train), (plain_eval, shifted_eval)):
            self.assertAllEqual(after[0], before[0])  # same images, same order
            self.assertAllEqual(after[1], before[1] + 1)
        self.assertNotIn("background_class", plain.settings)  # default: today's settings record
        self.assertEqual(shifted.settings, {**plain.settings, "background_class": True})

    def test_non_bool_is_refused(self):
        with self.assertRaisesRegex(ValueError, "Received: background_class=1"):
            tfds_source("imagenet2012", image_size=16, batch_size=4, background_class=1,
                        download=False, data_dir=self.get_temp_dir())


def _hand_image(height=40, width=50):
    """A uint8 image with sharp structure (a checkerboard), where bicubic and bilinear differ."""
    rows, cols = np.indices((height, width))
    return tf.constant((((rows // 3 + cols // 3) % 2) * 200 + rows).astype("uint8")[..., None])


class Tf1PreprocessingTest(tf.test.TestCase):
    unit = dict(mean=(0.0,), std=(1 / 255.0,))  # normalisation that keeps raw pixel values

    def test_eval_crop_fraction(self):
        self.assertEqual(imagenet_preprocessing.tf1_crop_fraction(224), 224 / 246)
        self.assertAlmostEqual(Recipe("imagenet_tf1").eval_crop_fraction(224), 0.9106, places=4)
        self.assertEqual(Recipe("imagenet_tf1").eval_crop_fraction(60), 60 / 66)
        self.assertEqual(Recipe("imagenet").eval_crop_fraction(224), 0.875)  # default unchanged
        self.assertIsNone(Recipe("light").eval_crop_fraction(224))

    def test_eval_is_the_bicubic_resize_of_the_tf1_crop(self):
        image = _hand_image()  # shorter side 40: crop side round(40 * 20 / 22) = 36
        out = Recipe("imagenet_tf1").eval(image, image_size=20, **self.unit).numpy()
        crop = image[2:38, 7:43]
        self.assertAllClose(out, tf.image.resize(crop, [20, 20], method="bicubic"), atol=1e-3)
        bilinear = tf.image.resize(crop, [20, 20], method="bilinear")
        self.assertGreater(np.abs(out - bilinear).max(), 5.0)
        todays = Recipe("imagenet").eval(image, image_size=20, **self.unit).numpy()
        self.assertAllClose(todays, tf.image.resize(image[2:37, 7:42], [20, 20]), atol=1e-3)

    def test_training_crop_takes_100_attempts_and_resizes_bicubic(self):
        attempts = []
        real = tf.image.stateless_sample_distorted_bounding_box

        def recording(*args, **kwargs):
            attempts.append(kwargs["max_attempts"])
            return real(*args, **kwargs)

        image, seed = _hand_image(), tf.constant([4, 1])
        with mock.patch.object(tf.image, "stateless_sample_distorted_bounding_box", recording):
            tf1 = Recipe("imagenet_tf1").train(image, seed, image_size=20, **self.unit).numpy()
            Recipe("imagenet").train(image, seed, image_size=20, **self.unit)
        self.assertEqual(attempts, [100, 10])
        self.assertTrue(Recipe("imagenet_tf1").flips)
        self.assertEqual((Recipe("imagenet_tf1").resize_method, Recipe("imagenet").resize_method),
                         ("bicubic", "bilinear"))
        self.assertEqual(tf1.shape, (20, 20, 1))


class WarmupScheduleTest(tf.test.TestCase):
    def test_cosine_with_warmup_at_hand_steps(self):
        schedule = learning_rate_schedule(0.1, 100, warmup_steps=10)
        # 0 at step 0, linear to the peak at step 10, cosine over the 90 steps left: half at 55.
        for step, rate in ((0, 0.0), (5, 0.05), (10, 0.1), (55, 0.05), (100, 0.0)):
            self.assertAllClose(schedule(step), rate, atol=1e-7, msg=f"step {step}")
        self.assertAllClose(schedule(32.5), 0.1 * (1 + math.cos(math.pi / 4)) / 2, atol=1e-7)

    def test_constant_with_and_without_warmup(self):
        schedule = learning_rate_schedule(0.1, 100, schedule="constant", warmup_steps=10)
        for step, rate in ((0, 0.0), (5, 0.05), (10, 0.1), (55, 0.1), (100, 0.1)):
            self.assertAllClose(schedule(step), rate, atol=1e-7, msg=f"step {step}")
        self.assertEqual(learning_rate_schedule(0.1, 100, schedule="constant"), 0.1)

    def test_default_is_todays_cosine_decay(self):
        schedule = learning_rate_schedule(0.1, 100)
        self.assertIsInstance(schedule, keras.optimizers.schedules.CosineDecay)
        todays = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100)
        self.assertEqual(schedule.get_config(), todays.get_config())
        self.assertEqual(learning_rate_schedule(0.1, None), 0.1)  # unknown length: constant

    def test_warmup_as_long_as_the_stage_is_refused(self):
        with self.assertRaisesRegex(ValueError, "Received: warmup_steps=100"):
            learning_rate_schedule(0.1, 100, warmup_steps=100)


if __name__ == "__main__":
    tf.test.main()
