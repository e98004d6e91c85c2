"""PlainCNN (the race's full-image baseline) and its CrossEntropyTrainer."""

import keras
import numpy as np
import tensorflow as tf

from benchmarks.cross_entropy_trainer import CrossEntropyTrainer
from benchmarks.plain_cnn import PlainCNN
from saccader_tf.models.saccader.saccader import Saccader
from tests.support.layer_checks import run_layer_checks

TINY = dict(num_classes=3, image_size=8, input_channels=1, widths=(4, 8), strides=(2, 2))


class PlainCNNTest(tf.test.TestCase):
    def test_layer_checks(self):
        images = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
        run_layer_checks(self, PlainCNN, TINY, images)

    def test_weight_count_hand_computed(self):
        # conv0 1·9·4 = 36, bn0 4·4 = 16, conv1 4·9·8 = 288, bn1 4·8 = 32, dense 8·3 + 3 = 27.
        model = PlainCNN(**TINY)
        model.build()
        self.assertEqual(model.count_params(), 36 + 16 + 288 + 32 + 27)

    def test_default_size_is_close_to_the_default_saccader(self):
        cnn = PlainCNN(num_classes=10, image_size=60, input_channels=1)
        cnn.build()
        saccader = Saccader(
            num_classes=10, image_size=60, variant="bagnet29_small", input_channels=1
        )
        saccader.build()
        self.assertEqual(cnn.count_params(), 409_770)
        self.assertAllClose(cnn.count_params() / saccader.count_params(), 1.0, atol=0.05)

    def test_mismatched_widths_and_strides_are_refused(self):
        with self.assertRaisesRegex(ValueError, r"Received: widths=\(4, 8\), strides=\(2,\)"):
            PlainCNN(num_classes=3, image_size=8, widths=(4, 8), strides=(2,))


class CrossEntropyTrainerTest(tf.test.TestCase):
    def test_loss_is_the_mean_cross_entropy_plus_decay(self):
        keras.utils.set_random_seed(1)
        model = PlainCNN(**TINY)
        images = np.random.default_rng(1).random((4, 8, 8, 1)).astype(np.float32)
        labels = np.array([0, 2, 1, 2], np.int32)
        decay = 0.01
        trainer = CrossEntropyTrainer(model, weight_decay=decay)
        loss, logs = trainer.compute_losses(images, labels, training=False)
        logits = model(images, training=False).numpy()
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        cross_entropy = -log_softmax[np.arange(4), labels].mean()
        kernels = [v.numpy() for v in model.trainable_variables if "kernel" in v.path]
        penalty = decay * sum(float((k**2).sum()) for k in kernels) / 2
        self.assertAllClose(logs["cross_entropy"], cross_entropy, rtol=1e-5)
        self.assertAllClose(loss, cross_entropy + penalty, rtol=1e-5)
        predicted = logits.argmax(axis=1)
        self.assertAllClose(logs["accuracy"], np.mean(predicted == labels))

    def test_one_step_trains_every_weight_group(self):
        keras.utils.set_random_seed(2)
        model = PlainCNN(**TINY)
        trainer = CrossEntropyTrainer(model)
        trainer.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
        before = [v.numpy().copy() for v in model.trainable_variables]
        images = np.random.default_rng(2).random((4, 8, 8, 1)).astype(np.float32)
        logs = trainer.train_on_batch(images, np.array([0, 1, 2, 0]), return_dict=True)
        self.assertTrue(np.isfinite(logs["loss"]))
        for old, new in zip(before, model.trainable_variables):
            self.assertNotAllClose(old, new.numpy())
