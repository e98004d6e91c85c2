"""Occlusion helpers: blanking boxes, seeded random cells, the normalised black."""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation import occlusion
from tests.support.sources import array_source


class OcclusionTest(tf.test.TestCase):
    def test_blank_boxes_sets_exactly_the_union(self):
        images = np.arange(2 * 6 * 7 * 2, dtype="float32").reshape(2, 6, 7, 2) + 1
        boxes = tf.constant([[[1, 2, 3, 5], [2, 4, 4, 6]], [[0, 0, 1, 1], [0, 0, 1, 1]]])
        out = occlusion.blank_boxes(images, boxes, fill_value=[-1.0, -2.0]).numpy()
        mask = np.zeros((2, 6, 7), bool)
        mask[0, 1:3, 2:5] = mask[0, 2:4, 4:6] = mask[1, 0, 0] = True
        self.assertAllEqual(out[~mask], images[~mask])
        self.assertAllEqual(out[mask], np.tile([[-1.0, -2.0]], [mask.sum(), 1]))

    def test_random_cells_are_distinct_seeded_and_prefix_stable(self):
        seed = tf.constant([3, 4])
        cells = occlusion.random_cells(5, 16, 16, seed).numpy()
        self.assertAllEqual(np.sort(cells, axis=1), np.tile(np.arange(16), [5, 1]))
        self.assertAllEqual(occlusion.random_cells(5, 16, 3, seed), cells[:, :3])

    def test_black_value(self):
        source = array_source(np.zeros((2, 24, 24, 1), "float32"), np.zeros(2, "int32"), 3)
        self.assertAllClose(occlusion.black_value(source), [0.0])
