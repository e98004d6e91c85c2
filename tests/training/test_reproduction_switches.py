"""Reproduction switches: each changes the quantity it names and nothing else, and each
is off by default (the default gives today's value)."""

import contextlib
import dataclasses
import math
import socket
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from saccader_tf.data.preprocessing import Recipe, resize_method_of, tf1_crop_fraction
from saccader_tf.data.source import DataSource, fixed_epochs
from saccader_tf.data.tfds_source import tfds_source
from saccader_tf.export.savedmodel import preprocess_images
from saccader_tf.model_dir.progress import StageProgress
from saccader_tf.models.saccader.policies.standard import LearnedPolicy
from saccader_tf.run.settings import StageSettings
from saccader_tf.training import PolicyGradientTrainer
from saccader_tf.training.losses import decayed_variables, l2_penalty
from saccader_tf.training.rewards import correct_prediction_reward
from saccader_tf.training.schedules import learning_rate_schedule
from saccader_tf.training.train_stage import (
    make_optimizer,
    make_trainer,
    settings_plan,
    stage_plan,
    warmup_steps,
)
from tests.support.trainer_fixtures import data as _data
from tests.support.trainer_fixtures import labels_with_three_correct as _labels_with_three_correct
from tests.support.trainer_fixtures import model as _model


def _decayed_by_hand(model):
    """(classification, location) kernels of `model` as numpy arrays, chosen by name and rank."""
    location = {id(v) for v in model.location_variables}
    kept = [
        v
        for v in model.trainable_variables
        if len(v.shape) >= 2 or v.path.split("/")[-1] in ("kernel", "w")
    ]
    return (
        [v.numpy().astype("float64") for v in kept if id(v) not in location],
        [v.numpy().astype("float64") for v in kept if id(v) in location],
    )


class NormalizedL2Test(tf.test.TestCase):
    def test_normalized_penalty_equals_hand_value_with_separate_location_weight(self):
        model = _model(seed=3)
        classification, location = _decayed_by_hand(model)
        self.assertNotEmpty(classification)
        self.assertNotEmpty(location)
        trainer = PolicyGradientTrainer(
            model, weight_decay=0.3, l2="normalized", location_weight_decay=0.7
        )
        expected = 0.3 * sum(np.mean(w**2) for w in classification) + 0.7 * sum(
            np.mean(w**2) for w in location
        )
        self.assertAllClose(trainer.weight_decay_penalty(), expected, rtol=1e-6)
        same = PolicyGradientTrainer(model, weight_decay=0.3, l2="normalized")  # λ_loc = λ
        every = classification + location
        self.assertAllClose(
            same.weight_decay_penalty(), 0.3 * sum(np.mean(w**2) for w in every), rtol=1e-6
        )

    def test_default_is_todays_sum_of_squares_and_location_weight_changes_only_its_part(self):
        model = _model(seed=3)
        classification, location = _decayed_by_hand(model)
        default = PolicyGradientTrainer(model, weight_decay=0.3).weight_decay_penalty()
        todays = l2_penalty(decayed_variables(model.trainable_variables), 0.3)
        self.assertEqual(float(default), float(todays))  # bit for bit
        every = classification + location
        self.assertAllClose(default, 0.3 * sum(np.sum(w**2) / 2 for w in every), rtol=1e-6)
        other = PolicyGradientTrainer(model, weight_decay=0.3, location_weight_decay=0.0)
        self.assertAllClose(
            other.weight_decay_penalty(),
            0.3 * sum(np.sum(w**2) / 2 for w in classification),
            rtol=1e-6,
        )

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
        self.assertAllEqual(
            correct_prediction_reward(logits, labels, "punishment"), [1.0, -1.0, 1.0, -1.0]
        )
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

    with (
        tfds.testing.mock_data(num_examples=num_examples),
        mock.patch.object(socket.socket, "connect", refuse),
    ):
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
            tfds_source(
                "imagenet2012",
                image_size=16,
                batch_size=4,
                background_class=1,
                download=False,
                data_dir=self.get_temp_dir(),
            )


def _hand_image(height=40, width=50):
    """A uint8 image with sharp structure (a checkerboard), where bicubic and bilinear differ."""
    rows, cols = np.indices((height, width))
    return tf.constant((((rows // 3 + cols // 3) % 2) * 200 + rows).astype("uint8")[..., None])


class Tf1PreprocessingTest(tf.test.TestCase):
    unit = dict(mean=(0.0,), std=(1 / 255.0,))  # normalisation that keeps raw pixel values

    def test_eval_crop_fraction(self):
        self.assertEqual(tf1_crop_fraction(224), 224 / 246)
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

    def test_export_preprocesses_raw_images_as_the_recipe_evaluates(self):
        image, recipe = _hand_image(), Recipe("imagenet_tf1")
        inputs, window = preprocess_images(
            image[None],
            image_size=20,
            crop_fraction=recipe.eval_crop_fraction(20),
            resize_method=resize_method_of("imagenet_tf1"),
            **self.unit,
        )
        self.assertAllClose(inputs[0], recipe.eval(image, image_size=20, **self.unit), atol=1e-3)
        self.assertAllEqual([int(v) for v in window], [2, 7, 36, 36])
        self.assertEqual(
            (resize_method_of("imagenet"), resize_method_of(None)), ("bilinear", "bilinear")
        )  # every other (or older) recipe: today's

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
        self.assertEqual(
            (Recipe("imagenet_tf1").resize_method, Recipe("imagenet").resize_method),
            ("bicubic", "bilinear"),
        )
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


class SwitchesThroughTheStagesTest(tf.test.TestCase):
    def test_a_resume_with_a_changed_switch_is_refused_and_defaults_keep_todays_plan(self):
        model = _model()
        source = DataSource(
            train_epoch=fixed_epochs(tf.data.Dataset.from_tensor_slices(_data()).batch(4)),
            eval=None,
            num_classes=5,
            image_size=24,
            channels=1,
            mean=(0.0,),
            std=(1.0,),
            name="hand",
        )
        default = StageSettings(epochs=2, learning_rate=0.1, weight_decay=1e-3)
        todays = stage_plan(
            3,
            model,
            source,
            epochs=2,
            steps_per_epoch=2,
            learning_rate=0.1,
            optimizer="adam",
            weight_decay=1e-3,
            num_targets=12,
            full_image_loss_weight=1.0,
        )
        self.assertEqual(settings_plan(3, model, source, default, 2), todays)
        directory = self.get_temp_dir() + "/switch_progress"
        optimizer = keras.optimizers.Adam(0.1)
        optimizer.build(model.trainable_variables)
        saved = StageProgress(directory, model, optimizer, todays)  # a run without switches
        saved.start(resume=False)
        saved.save()
        for name, value in (
            ("l2", "normalized"),
            ("location_weight_decay", 0.0),
            ("reward", "punishment"),
            ("schedule", "constant"),
            ("warmup_epochs", 0.5),
            ("skip_stage2", True),
        ):
            with self.subTest(switch=name):
                changed = settings_plan(
                    3, model, source, dataclasses.replace(default, **{name: value}), 2
                )
                self.assertEqual(changed, {**todays, name: value})
                with self.assertRaisesRegex(ValueError, rf"{name}: None -> {value!r}"):
                    StageProgress(directory, model, optimizer, changed).start()
        self.assertEqual(StageProgress(directory, model, optimizer, todays).start(), 0)

    def test_trainer_and_optimizer_get_the_switches(self):
        model = _model()
        trainer = make_trainer(
            3,
            model,
            weight_decay=0.1,
            l2="normalized",
            location_weight_decay=0.2,
            reward="punishment",
        )
        self.assertEqual(
            (trainer.l2, trainer.location_weight_decay, trainer.reward),
            ("normalized", 0.2, "punishment"),
        )
        self.assertEqual(make_trainer(1, model, l2="normalized").l2, "normalized")
        optimizer = make_optimizer("sgd", 0.1, 100, warmup_steps=10)
        for step, rate in ((0, 0.0), (5, 0.05), (10, 0.1), (55, 0.05)):
            optimizer.iterations.assign(step)
            self.assertAllClose(optimizer.learning_rate, rate, atol=1e-7)
        self.assertEqual(
            warmup_steps(StageSettings(epochs=3, learning_rate=1.0, warmup_epochs=0.5), 7), 4
        )  # round(3.5)


if __name__ == "__main__":
    tf.test.main()
