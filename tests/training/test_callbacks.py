"""`GlimpseImagesCallback`: the glimpse pictures reach a TensorBoard event file."""

import glob
import os
import tempfile

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.pictures import glimpse_summary_image
from saccader_tf.models import Saccader
from saccader_tf.training import RepresentationTrainer
from saccader_tf.training.callbacks import GlimpseImagesCallback


def _images_in(directory):
    """The images of the one `glimpses` summary in the one event file of `directory` (uint8)."""
    events = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
    assert len(events) == 1, events
    summaries = [
        tf.make_ndarray(value.tensor)  # [width, height, png of image 1, png of image 2, ...]
        for event in tf.compat.v1.train.summary_iterator(events[0])
        for value in event.summary.value
        if value.tag == "glimpses"
    ]
    assert len(summaries) == 1, len(summaries)
    return [tf.io.decode_png(png).numpy() for png in summaries[0][2:]]


class GlimpseImagesCallbackTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.model = Saccader(
            num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=1
        )
        self.images = np.random.default_rng(0).normal(size=(2, 24, 24, 1)).astype("float32")

    def _expected(self, num_glimpses):
        boxes = self.model(self.images, training=False, num_glimpses=num_glimpses)["glimpse_boxes"]
        return glimpse_summary_image(self.images, boxes.numpy())

    def test_writes_the_given_models_glimpses(self):
        with tempfile.TemporaryDirectory() as directory:
            callback = GlimpseImagesCallback(
                self.images, directory, model=self.model, num_glimpses=3
            )
            callback.on_epoch_end(0)
            callback.on_train_end()
            written = _images_in(directory)
        self.assertLen(written, 2)  # one picture per image
        self.assertAllEqual(np.stack(written), self._expected(3))

    def test_default_is_the_trainers_model_and_every_skips_epochs(self):
        with tempfile.TemporaryDirectory() as directory:
            callback = GlimpseImagesCallback(self.images, directory, every=2)
            callback.set_model(RepresentationTrainer(self.model))
            callback.on_epoch_end(0)  # epoch 1 of every 2: nothing written
            self.assertIsNone(callback._writer)
            callback.on_epoch_end(1)
            callback.on_train_end()
            written = _images_in(directory)
        self.assertAllEqual(np.stack(written), self._expected(None))
