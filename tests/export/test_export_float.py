"""`serve_float`: float32 pixel values in [0, 255] are served like the same uint8 images, and values
outside that range fail with a message instead of being cast to uint8."""

import os

import numpy as np
import tensorflow as tf

from saccader_tf.export.savedmodel import export_model
from saccader_tf.models.saccader.saccader import Saccader


class ServeFloatTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        model = Saccader(
            num_classes=4,
            image_size=24,
            variant="bagnet9_tiny",
            input_channels=1,
            num_glimpses=2,
            seed=1,
        )
        export_dir = os.path.join(tf.compat.v1.test.get_temp_dir(), "serve_float_export")
        export_model(model, export_dir, mean=(0.5,), std=(0.25,), max_glimpses=1)
        cls.loaded = tf.saved_model.load(export_dir)
        cls.pixels = np.random.default_rng(0).integers(0, 256, (2, 30, 26, 1)).astype(np.uint8)

    def test_float_pixels_give_the_uint8_outputs(self):
        expected = self.loaded.serving_default(tf.constant(self.pixels))
        served = self.loaded.serve_float(tf.constant(self.pixels.astype(np.float32)))
        self.assertEqual(set(served), set(expected))
        for key in expected:
            if expected[key].dtype == tf.string:
                self.assertAllEqual(served[key], expected[key])
            else:
                self.assertAllClose(served[key], expected[key], atol=1e-5)

    def test_values_outside_0_255_are_refused_not_cast(self):
        for bad in (300.0, -1.0, np.nan, np.inf):
            with self.subTest(value=bad):
                images = self.pixels.astype(np.float32)
                images[1, 3, 4, 0] = bad
                with self.assertRaisesRegex(
                    tf.errors.InvalidArgumentError,
                    r"serve_float expects pixel values in \[0, 255\] \(the uint8 scale",
                ):
                    self.loaded.serve_float(tf.constant(images))
