"""Shared pieces of the stage trainers: `correct` (argmax equals label) and the frozen
representation of `Saccader.context` that stage 2 trains on."""

import numpy as np
import tensorflow as tf

from saccader_tf.models import Saccader
from saccader_tf.training.losses import correct


class CorrectTest(tf.test.TestCase):
    def test_hand_computed_hits_ties_and_broadcast_labels(self):
        logits = tf.constant([[1.0, 3.0, 2.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]], tf.float16)
        # Row 3 is a tie: argmax takes the lowest index, 0.
        self.assertAllEqual(correct(logits, tf.constant([1, 1, 0], tf.int64)), [1.0, 0.0, 1.0])
        patch_logits = tf.constant([[[[0.0, 1.0], [2.0, 0.0]]]])  # [B=1, h=1, w=2, K=2]
        self.assertAllEqual(correct(patch_logits, tf.constant([1])[:, None, None]), [[[1.0, 0.0]]])


class FrozenRepresentationTest(tf.test.TestCase):
    def test_bagnet_gets_no_gradient_and_keeps_its_batch_statistics(self):
        model = Saccader(
            num_classes=3, image_size=28, variant="bagnet9_tiny", input_channels=1, seed=0
        )
        model.build()
        images = tf.random.stateless_normal([2, 28, 28, 1], seed=[3, 4]) * 2.0 + 1.0
        statistics = [v for v in model.representation.non_trainable_variables if "moving" in v.path]
        before = [v.numpy() for v in statistics]
        with tf.GradientTape() as tape:
            context, rep = model.context(images, training=True, frozen_representation=True)
            loss = tf.reduce_sum(context.mixed) + tf.reduce_sum(rep["logits"])
        # The cell's weight is not used before the glimpse loop: the attention network and mixer.
        where = model.attention_network.trainable_variables + model.mixer.trainable_variables
        gradients = tape.gradient(loss, model.representation_variables + where)
        count = len(model.representation_variables)
        self.assertTrue(all(g is None for g in gradients[:count]))
        self.assertTrue(all(g is not None for g in gradients[count:]))
        for old, variable in zip(before, statistics):
            self.assertAllEqual(old, variable)
        # The same context with the representation not frozen: a training call moves the statistics.
        frozen_mixed = context.mixed
        model.context(images, training=True)
        moved = [not np.array_equal(old, v.numpy()) for old, v in zip(before, statistics)]
        self.assertTrue(any(moved))
        # Inference: frozen or not, the same features.
        frozen, _ = model.context(images, training=False, frozen_representation=True)
        self.assertAllClose(model.context(images, training=False)[0].mixed, frozen.mixed)
        self.assertEqual(frozen_mixed.shape, [2, model.num_cells, model.mixer.width])
