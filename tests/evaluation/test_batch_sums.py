"""Per-batch sums of an evaluation pass, by hand: top-1/top-5 hits, coverage, hit rates."""

import tensorflow as tf

from saccader_tf.evaluation.batch_sums import correct_predictions, glimpse_sums


class BatchSumsTest(tf.test.TestCase):
    def test_correct_predictions(self):
        logits = tf.constant([[0.0, 2.0, 1.0, 3, 4, 5, 6], [9.0, 1.0, 0.0, 0, 0, 0, 0]])
        top1, top5 = correct_predictions(logits, tf.constant([1, 0]))
        self.assertAllEqual(top1, [0.0, 1.0])
        self.assertAllEqual(top5, [1.0, 1.0])  # label 1 of row 0 has rank 4 (5 larger: no)
        _, top5 = correct_predictions(logits, tf.constant([0, 0]))
        self.assertAllEqual(top5, [0.0, 1.0])  # logit 0.0 has 6 larger classes

    def test_glimpse_sums_by_hand(self):
        glimpses = {
            "glimpse_boxes": tf.constant(
                [[[0, 0, 6, 12], [0, 0, 12, 12]], [[20, 20, 24, 24], [0, 0, 2, 2]]]
            ),
            "glimpse_logits": tf.constant([[[1.0, 0, 0], [0, 5, 0]], [[0, 1.0, 0], [0, 0, 3]]]),
        }
        objects = tf.constant([[5, 5, 8, 8], [0, 0, 4, 4]])
        sums = glimpse_sums(glimpses, tf.constant([0, 1]), objects, 24)
        self.assertAllClose(sums["coverage"], [(72 + 16) / 576, (144 + 20) / 576])
        self.assertAllClose(sums["top1"], [2.0, 0.0])  # T=2: image 0 predicts 1, image 1 predicts 2
        self.assertAllClose(sums["hit_first"], 1.0)  # only image 0's first box meets its object
        self.assertAllClose(sums["hit_any"], [1.0, 2.0])
