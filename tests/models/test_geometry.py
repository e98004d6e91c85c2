"""Tests of saccader_tf.models.geometry: receptive-field boxes, coverage and object hits."""

import numpy as np
import tensorflow as tf

from saccader_tf.models import geometry


class CellBoxesTest(tf.test.TestCase):
    def test_hand_picked_cells(self):
        # 19 x 19 grid, stride 8, receptive field 77 (bagnet77 at 224 px).
        cells = tf.constant([[0, 1, 19, 360]])
        boxes = geometry.cell_boxes(cells, grid_width=19, stride=8, receptive_field=77)
        self.assertEqual(boxes.dtype, tf.int32)
        self.assertAllEqual(
            boxes,
            [[[0, 0, 77, 77], [0, 8, 77, 85], [8, 0, 85, 77], [144, 144, 221, 221]]],
        )

    def test_last_cell_ends_at_image_border(self):
        # A VALID network: the bottom-right cell's box ends exactly at the image size.
        grid, stride, rf = 19, 8, 77
        image = (grid - 1) * stride + rf
        box = geometry.cell_boxes(grid * grid - 1, grid, stride, rf)
        self.assertAllEqual(box, [image - rf, image - rf, image, image])

    def test_invalid_arguments(self):
        with self.assertRaisesRegex(ValueError, "Received: stride=0"):
            geometry.cell_boxes([0], grid_width=3, stride=0, receptive_field=5)

    def test_one_cell_box_is_a_row_of_cell_boxes(self):
        # Cell (2, 5) of a 7-wide grid, stride 4, receptive field 9: index 2 * 7 + 5 = 19.
        self.assertEqual(geometry.cell_box(2, 5, stride=4, receptive_field=9), (8, 20, 17, 29))
        self.assertAllEqual(
            geometry.cell_boxes(19, grid_width=7, stride=4, receptive_field=9), [8, 20, 17, 29]
        )

    def test_center_cell(self):
        self.assertEqual(geometry.center_cell(3, 3), 4)
        self.assertEqual(geometry.center_cell(19, 19), 9 * 19 + 9)
        self.assertEqual(geometry.center_cell(4, 6), 2 * 6 + 3)


class CoverageTest(tf.test.TestCase):
    def test_one_box(self):
        boxes = tf.constant([[[2, 3, 6, 8]]])  # 4 x 5 = 20 pixels of 10 x 10.
        self.assertAllClose(geometry.coverage(boxes, 10, 10), [0.2], atol=1e-7)

    def test_two_overlapping_boxes_union(self):
        # Box a: rows 0..3, cols 0..3 (16 px); box b: rows 2..5, cols 2..5 (16 px); overlap 2x2 = 4.
        boxes = tf.constant([[[0, 0, 4, 4], [2, 2, 6, 6]]])
        self.assertAllClose(geometry.coverage(boxes, 8, 10), [(16 + 16 - 4) / 80], atol=1e-7)

    def test_repeated_box_counts_once_and_clips(self):
        # Same box twice, plus a box half outside the image: rows 6..9 clipped to 6..7, cols 0..1.
        boxes = tf.constant([[[0, 0, 2, 2], [0, 0, 2, 2], [6, -3, 10, 2]], [[0, 0, 8, 8]] * 3])
        self.assertAllClose(geometry.coverage(boxes, 8, 8), [(4 + 4) / 64, 1.0], atol=1e-7)
        self.assertEqual(geometry.coverage(boxes, 8, 8).dtype, tf.float32)


class BoxHitsTest(tf.test.TestCase):
    def test_hand_made_boxes(self):
        boxes = tf.constant(
            [
                [
                    [0, 0, 10, 10],  # overlaps the object by 5 x 5 -> hit
                    [0, 10, 5, 20],  # ends at row 5 where the object starts: touches -> miss
                    [5, 15, 15, 25],  # starts at column 15 where the object ends -> miss
                    [6, 6, 7, 7],  # inside the object -> hit
                    [20, 20, 30, 30],  # far away -> miss
                ]
            ]
        )
        objects = tf.constant([[5, 5, 15, 15]])
        hits = geometry.box_hits(boxes, objects)
        self.assertEqual(hits.dtype, tf.bool)
        self.assertAllEqual(hits, [[True, False, False, True, False]])

    def test_per_example_object(self):
        boxes = np.array([[[0, 0, 4, 4]], [[0, 0, 4, 4]]])
        objects = np.array([[3, 3, 8, 8], [4, 0, 8, 4]])
        self.assertAllEqual(geometry.box_hits(boxes, objects), [[True], [False]])


if __name__ == "__main__":
    tf.test.main()
