"""Addressable training epochs: batch g of a stage is the same batch however the run got there."""

import types

import numpy as np
import tensorflow as tf

from saccader_tf.data import cluttered_mnist_source, image_folder_source, tfds_source
from saccader_tf.data.resumable_epochs import (
    batches_per_epoch,
    epoch_order,
    epoch_seed,
    training_batches,
)
from saccader_tf.data.source import DataSource, fixed_epochs
from tests.support.image_folder_fixture import write_random_image_folder
from tests.support.tfds_mock import offline_mock as _offline_mock


def _arrays(dataset):
    batches = [(i.numpy(), batch_labels.numpy()) for i, batch_labels in dataset]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


class EpochOrderTest(tf.test.TestCase):
    def test_a_permutation_cut_to_full_batches(self):
        order = epoch_order(num_examples=23, batch_size=5, seed=7, epoch=2)
        self.assertLen(order, 20)  # 4 full batches, 3 examples dropped
        self.assertLen(set(order.tolist()), 20)  # no example twice
        self.assertTrue(np.all((order >= 0) & (order < 23)))

    def test_pure_function_of_seed_and_epoch(self):
        first = epoch_order(100, 10, seed=3, epoch=1)
        self.assertAllEqual(first, epoch_order(100, 10, seed=3, epoch=1))
        self.assertNotAllEqual(first, epoch_order(100, 10, seed=3, epoch=2))
        self.assertNotAllEqual(first, epoch_order(100, 10, seed=4, epoch=1))
        self.assertNotEqual(epoch_seed(0, 0), epoch_seed(0, 1))

    def test_skip_drops_leading_batches(self):
        full = epoch_order(50, 8, seed=1, epoch=0)
        self.assertAllEqual(epoch_order(50, 8, seed=1, epoch=0, skip_batches=2), full[16:])
        self.assertLen(epoch_order(50, 8, seed=1, epoch=0, skip_batches=6), 0)
        with self.assertRaisesRegex(ValueError, "skip_batches=7"):
            epoch_order(50, 8, seed=1, epoch=0, skip_batches=7)


class TrainingBatchesTest(tf.test.TestCase):
    def test_cluttered_mnist_slices_equal_the_uninterrupted_stream(self):
        source = cluttered_mnist_source(
            image_size=32, batch_size=4, num_train=14, num_eval=10, seed=2
        )
        self.assertEqual(batches_per_epoch(source), 3)
        images, labels = _arrays(training_batches(source, 0, 8))  # epochs 0, 1 and 2 of 3 batches
        self.assertEqual(images.shape, (32, 32, 32, 1))
        # Each epoch holds 12 distinct examples; consecutive epochs are in different orders.
        self.assertNotAllEqual(images[:12], images[12:24])
        fresh = cluttered_mnist_source(
            image_size=32, batch_size=4, num_train=14, num_eval=10, seed=2
        )
        resumed_images, resumed_labels = _arrays(
            training_batches(fresh, 2, 5)
        )  # crosses 2 epoch ends
        self.assertAllEqual(resumed_images, images[8:28])
        self.assertAllEqual(resumed_labels, labels[8:28])

    def test_image_folder_augmentation_is_position_stable(self):
        root = write_random_image_folder(
            self.create_tempdir().full_path, train=10, val=2, height=20, width=24
        )
        make = lambda: image_folder_source(root, image_size=12, batch_size=3, seed=5)  # noqa: E731
        images, labels = _arrays(training_batches(make(), 0, 6))  # 2 epochs of 3 batches
        resumed_images, resumed_labels = _arrays(training_batches(make(), 1, 4))
        self.assertAllClose(resumed_images, images[3:15], atol=0, rtol=0)
        self.assertAllEqual(resumed_labels, labels[3:15])
        # Random crops and flips differ between epochs (same files, new augmentation).
        self.assertNotAllClose(
            np.sort(images[:9].sum(axis=(1, 2, 3))), np.sort(images[9:].sum(axis=(1, 2, 3)))
        )

    def test_tfds_skip_happens_on_encoded_examples(self):
        with _offline_mock(num_examples=10):

            def make():
                return tfds_source(
                    "cifar10",
                    image_size=16,
                    batch_size=2,
                    seed=3,
                    data_dir=self.get_temp_dir(),
                )

            images, labels = _arrays(training_batches(make(), 0, 7))
            resumed_images, resumed_labels = _arrays(training_batches(make(), 3, 4))
        self.assertAllEqual(resumed_images, images[6:14])
        self.assertAllEqual(resumed_labels, labels[6:14])

    def test_fallback_without_train_epoch_counts_batches(self):
        data = tf.data.Dataset.range(5).map(lambda i: (tf.fill([2], i), i)).batch(1)
        source = types.SimpleNamespace(train_epoch=fixed_epochs(data))
        _, labels = _arrays(training_batches(source, 3, 4))
        self.assertAllEqual(labels, [3, 4, 0, 1])

    def test_hand_made_source_is_exact_only_with_a_stated_epoch_length(self):
        data = tf.data.Dataset.range(6).map(lambda i: (tf.fill([2], i), i)).batch(2)  # 3 batches
        self.assertAllEqual([b.numpy() for _, b in fixed_epochs(data)(7, 2)], [[4, 5]])
        stated = types.SimpleNamespace(train_epoch=fixed_epochs(data), train_size=6, batch_size=2)
        self.assertEqual(batches_per_epoch(stated), 3)
        with self.assertNoLogs("absl", level="WARNING"):
            _, labels = _arrays(training_batches(stated, 2, 3))  # end of epoch 0, start of 1
        self.assertAllEqual(labels, [4, 5, 0, 1, 2, 3])
        unstated = types.SimpleNamespace(train_epoch=fixed_epochs(data), name="mine")
        self.assertEqual(batches_per_epoch(unstated), 3)  # the cardinality of train_epoch(0)
        with self.assertLogs("absl", level="WARNING") as logs:
            _, labels = _arrays(training_batches(unstated, 2, 3))
        self.assertAllEqual(labels, [4, 5, 0, 1, 2, 3])
        self.assertRegex(logs.output[0], r"'mine' has no addressable epochs")

    def test_a_plain_dataset_is_refused_with_the_fix(self):
        with self.assertRaisesRegex(TypeError, r"wrap .* as `fixed_epochs\(dataset\)`"):
            DataSource(
                train_epoch=tf.data.Dataset.range(3),
                eval=tf.data.Dataset.range(3),
                num_classes=2,
                image_size=8,
                channels=1,
                mean=(0.0,),
                std=(1.0,),
                name="x",
            )

    def test_rejects_bad_ranges(self):
        source = types.SimpleNamespace(train_epoch=fixed_epochs(tf.data.Dataset.range(3)))
        with self.assertRaisesRegex(ValueError, "first_batch=-1"):
            training_batches(source, -1, 2)
        with self.assertRaisesRegex(ValueError, "num_batches=0"):
            training_batches(source, 0, 0)
