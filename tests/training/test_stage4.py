"""Stage 4 (ClassNet): only the classifier learns, from the frozen Saccader's glimpses."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models import Saccader, SaccaderClassNet
from saccader_tf.training import ClassNetTrainer


def _classnet():
    keras.utils.set_random_seed(2)
    saccader = Saccader(
        num_classes=5,
        image_size=28,
        variant="bagnet9_tiny",
        input_channels=1,
        num_glimpses=3,
        seed=2,
    )
    net = SaccaderClassNet(saccader, "small_cnn", classifier_image_size=42, small_cnn_widths=(4, 8))
    net.build()
    return net


class ClassNetTrainerTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.images = rng.normal(size=(4, 42, 42, 1)).astype(np.float32)
        self.labels = np.array([0, 1, 2, 3], np.int32)

    def test_loss_is_the_mean_glimpse_cross_entropy_by_hand(self):
        net = _classnet()
        trainer = ClassNetTrainer(net)
        loss, logs = trainer.compute_losses(
            tf.constant(self.images), tf.constant(self.labels), training=False
        )
        glimpse_logits = net(self.images, training=False)["glimpse_logits"].numpy()  # [4, 3, 5]
        shifted = glimpse_logits - glimpse_logits.max(-1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        by_hand = -np.mean([log_softmax[b, t, self.labels[b]] for b in range(4) for t in range(3)])
        self.assertAllClose(logs["glimpse_ce"], by_hand, rtol=1e-5)
        self.assertAllClose(loss, by_hand, rtol=1e-5)  # no decay, one replica: the same

    def test_a_step_changes_only_the_classifier(self):
        net = _classnet()
        before_saccader = [w.numpy().copy() for w in net.saccader.weights]
        before_classifier = [w.numpy().copy() for w in net.classifier.trainable_weights]
        trainer = ClassNetTrainer(net, weight_decay=1e-4)
        trainer.compile(optimizer=keras.optimizers.Adam(0.01))
        logs = trainer.fit(self.images, self.labels, batch_size=4, epochs=1, verbose=0).history
        self.assertTrue(np.isfinite(logs["loss"][0]))
        for a, b in zip(before_saccader, net.saccader.weights):
            self.assertAllEqual(a, b.numpy())  # frozen, BatchNorm statistics included
        changed = [
            not np.array_equal(a, b.numpy())
            for a, b in zip(before_classifier, net.classifier.trainable_weights)
        ]
        self.assertTrue(all(changed))
