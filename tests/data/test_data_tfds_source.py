"""TFDS source with `tfds.testing.mock_data` (never the network)."""

import numpy as np
import tensorflow as tf

from saccader_tf.data import IMAGENET_MEAN, IMAGENET_STD, make_source, tfds_source
from tests.support.tfds_mock import offline_mock as _offline_mock


def _first_batch(dataset):
    images, labels = next(iter(dataset))
    return images.numpy(), labels.numpy()


class TfdsSourceTest(tf.test.TestCase):
    def test_imagenette_shapes_and_normalisation(self):
        with _offline_mock(num_examples=12) as attempts:
            source = tfds_source(
                "imagenette",
                image_size=24,
                batch_size=4,
                seed=1,
                data_dir=self.get_temp_dir(),
                augment="imagenet",
            )
            images, labels = _first_batch(source.train_epoch(0))
            eval_batches = [(i.numpy(), batch_labels.numpy()) for i, batch_labels in source.eval]
        self.assertEqual(attempts, [])
        self.assertEqual((source.num_classes, source.channels, source.image_size), (10, 3, 24))
        self.assertEqual((source.mean, source.std), (IMAGENET_MEAN, IMAGENET_STD))
        self.assertEqual(source.crop_fraction, 0.875)
        self.assertEqual(images.shape, (4, 24, 24, 3))
        self.assertEqual(images.dtype, np.float32)
        self.assertEqual(labels.dtype, np.int32)
        self.assertAllInRange(labels, 0, 9)
        low = (0.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        high = (1.0 - np.array(IMAGENET_MEAN)) / IMAGENET_STD
        self.assertTrue(np.all(images >= low - 1e-5) and np.all(images <= high + 1e-5))
        self.assertLess(images.min(), 0.0)  # really normalised, not [0, 1]
        self.assertEqual(sum(b[0].shape[0] for b in eval_batches), 12)  # eval keeps every example

    def test_default_recipe_is_light_and_channels_convert(self):
        with _offline_mock(num_examples=8):
            source = tfds_source(
                "imagenette",
                image_size=16,
                batch_size=4,
                seed=1,
                data_dir=self.get_temp_dir(),
                channels=1,
            )
            images, _ = _first_batch(source.train_epoch(0))
        self.assertIsNone(source.crop_fraction)  # evaluation resizes the whole image
        self.assertEqual(source.settings["augment"], "light")
        self.assertFalse(source.settings["flip"])
        self.assertEqual((source.channels, images.shape), (1, (4, 16, 16, 1)))

    def test_reproducible_with_seed(self):
        kwargs = dict(image_size=16, batch_size=4, data_dir=self.get_temp_dir())
        with _offline_mock(num_examples=8):
            first = _first_batch(tfds_source("cifar10", seed=3, **kwargs).train_epoch(0))
            again = _first_batch(tfds_source("cifar10", seed=3, **kwargs).train_epoch(0))
            other = _first_batch(tfds_source("cifar10", seed=4, **kwargs).train_epoch(0))
            source = tfds_source("cifar10", seed=3, **kwargs)
            eval_once = [batch_labels.numpy() for _, batch_labels in source.eval]
            eval_twice = [batch_labels.numpy() for _, batch_labels in source.eval]
        self.assertAllEqual(first[0], again[0])
        self.assertAllEqual(first[1], again[1])
        self.assertNotAllClose(first[0], other[0])
        self.assertAllEqual(np.concatenate(eval_once), np.concatenate(eval_twice))

    def test_grayscale_keeps_one_channel(self):
        with _offline_mock(num_examples=6):
            source = make_source(
                "mnist", image_size=20, batch_size=3, seed=0, data_dir=self.get_temp_dir()
            )
            images, _ = _first_batch(source.eval)
        self.assertEqual((source.channels, source.mean, source.std), (1, (0.5,), (0.5,)))
        self.assertEqual(images.shape, (3, 20, 20, 1))
        self.assertTrue(np.all(images >= -1.0) and np.all(images <= 1.0))
        self.assertEqual(source.name, "mnist")

    def test_unknown_dataset_name(self):
        with _offline_mock(num_examples=2):
            with self.assertRaisesRegex(ValueError, "Unknown dataset 'no_such_dataset_xyz'"):
                make_source("no_such_dataset_xyz", image_size=8, batch_size=2)

    def test_not_a_classification_dataset(self):
        with _offline_mock(num_examples=2):
            with self.assertRaisesRegex(ValueError, "not an image-classification dataset"):
                tfds_source("glue/cola", image_size=8, batch_size=2, data_dir=self.get_temp_dir())
