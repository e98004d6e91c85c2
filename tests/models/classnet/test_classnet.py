"""Saccader-ClassNet: glimpse extraction, weight count, logits by hand, the model_dir record, a
passed-in classifier and validation (the shared layer checks of both classes are in
tests/models/test_public_layers.py)."""

import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.model_dir.model_config import is_classnet_config, model_from_config
from saccader_tf.models.classnet.classnet import OUTPUT_KEYS, SaccaderClassNet
from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction, scaled_glimpse_size
from saccader_tf.models.geometry import cell_boxes
from saccader_tf.models.saccader.saccader import Saccader

SACCADER = {
    "num_classes": 5,
    "image_size": 28,
    "variant": "bagnet9_tiny",
    "input_channels": 1,
    "num_glimpses": 3,
}


def _image(size, channels=1, seed=0):
    return np.random.default_rng(seed).normal(size=(1, size, size, channels)).astype(np.float32)


def _classnet(seed=0, classifier="small_cnn", **kwargs):
    keras.utils.set_random_seed(seed)
    saccader = Saccader(**SACCADER, seed=seed)
    kwargs.setdefault("small_cnn_widths", (4, 8))
    net = SaccaderClassNet(saccader, classifier, classifier_image_size=42, **kwargs)
    net.build()
    return net


def _cut(layer, images, boxes):
    return layer(tf.constant(images), tf.constant(boxes, tf.int32)).numpy()


class GlimpseExtractionTest(tf.test.TestCase):
    def test_glimpse_sides(self):
        self.assertEqual(scaled_glimpse_size(331, 224, 77), 113)  # the paper's int(331/224 * 77)
        self.assertEqual(GlimpseExtraction(331, 224, 77, output_size=331).glimpse_size, 113)
        self.assertEqual(scaled_glimpse_size(12, 8, 5), 7)
        self.assertEqual(scaled_glimpse_size(16, 8, 3), 6)

    def test_odd_glimpse_inside_the_image_equals_slicing(self):
        image = _image(12, channels=2)
        layer = GlimpseExtraction(image_size=12, source_size=8, receptive_field=5)  # g = 7
        # Box rows 2..6 (centre 4.5) → 6.75 at 12 px; top = round(6.75 - 3.5) = 3. Cols 0..4: centre
        # 2.5 → 3.75; left = round(0.25) = 0.
        out = _cut(layer, image, [[[2, 2, 7, 7], [2, 0, 7, 5]]])
        self.assertEqual(out.shape, (1, 2, 7, 7, 2))
        self.assertAllEqual(out[0, 0], image[0, 3:10, 3:10])
        self.assertAllEqual(out[0, 1], image[0, 3:10, 0:7])
        self.assertAllEqual(layer.glimpse_boxes(tf.constant([[2, 0, 7, 5]])), [[3, 0, 10, 7]])

    def test_odd_glimpse_leaving_the_image_replicates_the_edges(self):
        image = _image(12, seed=1)
        padded = np.pad(
            image[0], ((8, 8), (8, 8), (0, 0)), mode="edge"
        )  # row r of the image = row r + 8
        layer = GlimpseExtraction(image_size=12, source_size=8, receptive_field=5)  # g = 7
        # (-2..2): centre 0.5 → 0.75; top = floor(0.75 - 3.5 + 0.5) = -3 (rows -3..3).
        # (6..10): centre 8.5 → 12.75; top = round(9.25) = 9 (rows 9..15, past the last row 11).
        out = _cut(layer, image, [[[-2, -2, 3, 3], [6, 6, 11, 11], [-2, 6, 3, 11]]])
        self.assertAllEqual(out[0, 0], padded[5:12, 5:12])
        self.assertAllEqual(out[0, 1], padded[17:24, 17:24])
        self.assertAllEqual(out[0, 2], padded[5:12, 17:24])
        # Edge replication by hand: the first 4 rows of glimpse 0 all repeat image row 0
        # (columns -3..3).
        for row in range(4):
            self.assertAllEqual(out[0, 0, row, 3:], image[0, 0, 0:4])
            self.assertAllEqual(out[0, 0, row, :3], np.repeat(image[0, 0, :1], 3, axis=0))

    def test_even_glimpse_and_half_pixel_rounding(self):
        image = _image(16, seed=2)
        layer = GlimpseExtraction(image_size=16, source_size=8, receptive_field=3)  # g = 6
        # Box (2..4, 4..6): centre (3.5, 5.5) → (7, 11); corner (7 - 3, 11 - 3) = (4, 8).
        # Box (6..8, 6..8): centre 7.5 → 15; corner 12, rows 12..17 (16, 17 replicate row 15).
        out = _cut(layer, image, [[[2, 4, 5, 7], [6, 6, 9, 9]]])
        self.assertAllEqual(out[0, 0], image[0, 4:10, 8:14])
        padded = np.pad(image[0], ((0, 2), (0, 2), (0, 0)), mode="edge")
        self.assertAllEqual(out[0, 1], padded[12:18, 12:18])
        halves = GlimpseExtraction(image_size=12, source_size=8, receptive_field=4)  # g = 6
        # Box 1..4: centre 3 → 4.5; 4.5 - 3 = 1.5 rounds up to 2. Box 0..3: centre 2 → 3; 3 - 3 = 0.
        self.assertAllEqual(halves.corners(tf.constant([[1, 0, 5, 4]])), [[2, 0]])
        image12 = _image(12, seed=3)
        self.assertAllEqual(_cut(halves, image12, [[[1, 0, 5, 4]]])[0, 0], image12[0, 2:8, 0:6])

    def test_resize_to_the_classifier_input(self):
        image = _image(12, channels=3, seed=4)
        layer = GlimpseExtraction(image_size=12, source_size=8, receptive_field=5, output_size=10)
        out = _cut(layer, image, [[[2, 2, 7, 7]]])
        expected = tf.image.resize(image[:, 3:10, 3:10], [10, 10], method="bilinear").numpy()
        self.assertEqual(out.shape, (1, 1, 10, 10, 3))
        self.assertAllClose(out[0, 0], expected[0], atol=1e-6)

    def test_config_and_validation(self):
        layer = GlimpseExtraction(
            image_size=12, source_size=8, receptive_field=5, output_size=9, interpolation="nearest"
        )
        self.assertEqual(
            GlimpseExtraction.from_config(layer.get_config()).get_config(), layer.get_config()
        )
        with self.assertRaisesRegex(ValueError, "Received: receptive_field=9"):
            GlimpseExtraction(image_size=12, source_size=8, receptive_field=9)
        with self.assertRaisesRegex(ValueError, "Received: interpolation='cubic'"):
            GlimpseExtraction(
                image_size=12, source_size=8, receptive_field=5, interpolation="cubic"
            )
        with self.assertRaisesRegex(ValueError, "Received: output_size=0"):
            GlimpseExtraction(image_size=12, source_size=8, receptive_field=5, output_size=0)


class SaccaderClassNetTest(tf.test.TestCase):
    def test_weight_count_is_the_sum_of_both_networks(self):
        net = _classnet()
        # Small CNN, C = 1, K = 5, widths (4, 8): conv 3·3·1·4 = 36, BN 4·4 = 16,
        # conv 3·3·4·8 = 288, BN 4·8 = 32, dense 8·5 + 5 = 45.
        self.assertEqual(net.classifier.count_params(), 36 + 16 + 288 + 32 + 45)
        self.assertEqual(
            net.count_params(), net.saccader.count_params() + net.classifier.count_params()
        )
        self.assertEqual(net.extraction.glimpse_size, 13)  # int(42 / 28 · 9)
        self.assertEqual(net.extraction.resized_size, 13)  # small CNN: no resize by default

    def test_logits_are_the_mean_of_the_glimpse_logits_by_hand(self):
        net = _classnet(seed=1, glimpse_input_size=16)
        images = np.random.default_rng(5).normal(size=(2, 42, 42, 1)).astype(np.float32)
        out = net(images)
        self.assertEqual(set(out), set(OUTPUT_KEYS))
        small = tf.image.resize(images, [28, 28], method="bilinear", antialias=True)
        chosen = net.saccader(small, training=False)
        self.assertAllEqual(out["cells"], chosen["cells"])
        self.assertAllClose(out["saccader_logits"], chosen["logits"])
        rf, stride = net.saccader.representation.receptive_field, net.saccader.representation.stride
        boxes = cell_boxes(out["cells"], net.saccader.grid, stride, rf).numpy()
        self.assertAllEqual(out["glimpse_boxes"], boxes)
        padded = np.pad(images, ((0, 0), (13, 13), (13, 13), (0, 0)), mode="edge")
        expected_glimpse_logits = np.zeros((2, 3, 5), np.float32)
        for n in range(2):
            for t in range(3):
                ymin, xmin, ymax, xmax = boxes[n, t]
                top = int(np.floor((ymin + ymax) / 2 * 42 / 28 - 13 / 2 + 0.5))
                left = int(np.floor((xmin + xmax) / 2 * 42 / 28 - 13 / 2 + 0.5))
                self.assertAllEqual(out["classifier_boxes"][n, t], [top, left, top + 13, left + 13])
                patch = padded[n : n + 1, top + 13 : top + 26, left + 13 : left + 26]
                patch = tf.image.resize(patch, [16, 16], method="bilinear")
                expected_glimpse_logits[n, t] = net.classifier(patch, training=False).numpy()[0]
        self.assertAllClose(out["glimpse_logits"], expected_glimpse_logits, atol=1e-5)
        self.assertAllClose(out["logits"], expected_glimpse_logits.mean(axis=1), atol=1e-5)
        self.assertEqual(net(images, num_glimpses=5)["glimpse_logits"].shape, (2, 5, 5))

    def test_model_dir_record_rebuilds_it(self):
        # As a model_dir records the config (JSON: tuples become lists), `model_from_config`
        # rebuilds the network and its Saccader.
        net = _classnet(seed=2)
        images = np.random.default_rng(6).normal(size=(2, 42, 42, 1)).astype(np.float32)
        reference = net(images)
        config = net.get_config()
        self.assertEqual(config["classifier"], "small_cnn")

        def record(c):
            return json.loads(json.dumps(c, default=lambda v: getattr(v, "name", v)))

        recorded = record(config)
        self.assertTrue(is_classnet_config(recorded))
        self.assertFalse(is_classnet_config(recorded["saccader"]["config"]))
        rebuilt = model_from_config(recorded)
        self.assertIsInstance(rebuilt, SaccaderClassNet)
        self.assertEqual(record(rebuilt.get_config()), recorded)
        rebuilt.build()
        rebuilt.set_weights(net.get_weights())
        out = rebuilt(images)
        for key in OUTPUT_KEYS:
            self.assertAllClose(out[key], reference[key], atol=1e-5)
        self.assertIsInstance(model_from_config(recorded["saccader"]["config"]), Saccader)

    def test_passed_in_classifier_survives_the_keras_file_and_local_weights_load(self):
        inputs = keras.Input((13, 13, 1))
        logits = keras.layers.Dense(5)(keras.layers.Flatten()(inputs))
        net = _classnet(seed=3, classifier=keras.Model(inputs, logits, name="mine"))
        images = np.random.default_rng(7).normal(size=(2, 42, 42, 1)).astype(np.float32)
        reference = net(images)["logits"]
        self.assertEqual(net.get_config()["classifier"]["class_name"], "Functional")
        path = os.path.join(tempfile.mkdtemp(), "classnet.keras")
        net.save(path)
        self.assertAllClose(keras.saving.load_model(path)(images)["logits"], reference, atol=1e-5)
        weights = os.path.join(tempfile.mkdtemp(), "classifier.weights.h5")
        small = _classnet(seed=4)
        small.classifier.save_weights(weights)
        loaded = _classnet(seed=5, classifier_weights=weights)
        for a, b in zip(loaded.classifier.get_weights(), small.classifier.get_weights()):
            self.assertAllEqual(a, b)

    def test_validation(self):
        saccader = Saccader(**SACCADER)
        with self.assertRaisesRegex(ValueError, "Received: classifier='vgg'"):
            SaccaderClassNet(saccader, "vgg", classifier_image_size=42)
        with self.assertRaisesRegex(ValueError, "Received: classifier_weights='/nonexistent.h5'"):
            SaccaderClassNet(
                saccader,
                "small_cnn",
                classifier_image_size=42,
                classifier_weights="/nonexistent.h5",
            )
        model = keras.Sequential(
            [keras.Input((13, 13, 1)), keras.layers.Flatten(), keras.layers.Dense(5)]
        )
        with self.assertRaisesRegex(ValueError, "Received: glimpse_input_size=20"):
            SaccaderClassNet(saccader, model, classifier_image_size=42, glimpse_input_size=20)

    def test_paper_nasnet_large_configuration(self):
        saccader = Saccader(
            num_classes=1001, image_size=224, variant="bagnet77_lowd", input_channels=3
        )
        net = SaccaderClassNet(saccader, "nasnet_large", classifier_image_size=331)
        net.build()
        count = net.count_params()
        self.assertEqual(net.extraction.glimpse_size, 113)
        self.assertEqual(net.extraction.resized_size, 331)
        self.assertEqual(count, saccader.count_params() + net.classifier.count_params())
