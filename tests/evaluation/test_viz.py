"""Glimpse pictures: PNG files are written and readable; summary images have boxes where
expected."""

import os
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.evaluation import pictures
from saccader_tf.evaluation.results import EvaluationResult


def _result():
    rows = [
        {
            "policy": p,
            "glimpses": t,
            "top1": 0.1 * t,
            "top5": 0.2 * t,
            "coverage": 0.1,
            "hit_first": None,
            "hit_any": None,
        }
        for p in ("learned", "random")
        for t in (1, 2, 3)
    ]
    rows.append(
        {
            "policy": "full",
            "glimpses": None,
            "top1": 0.5,
            "top5": 0.9,
            "coverage": 1.0,
            "hit_first": None,
            "hit_any": None,
        }
    )
    return EvaluationResult(examples=4, max_glimpses=3, num_cells=16, rows=tuple(rows))


def _assert_png(test, path):
    test.assertGreater(os.path.getsize(path), 0)
    with Image.open(path) as image:
        image.load()
        test.assertGreater(image.size[0], 0)
        test.assertGreater(image.size[1], 0)


class GlimpseSummaryImageTest(tf.test.TestCase):
    def test_boxes_are_drawn_at_their_pixels(self):
        images = np.zeros((2, 10, 12, 1), "float32")
        images[:, 0, 0] = 1.0  # min-max scaling: background 0, one white pixel
        boxes = np.array([[[2, 3, 6, 8], [0, 0, 1, 1]], [[5, 5, 10, 12], [5, 5, 10, 12]]])
        out = pictures.glimpse_summary_image(images, boxes)
        self.assertEqual(out.shape, (2, 10, 12, 3))
        self.assertEqual(out.dtype, np.uint8)
        first, second = pictures.PALETTE[0], pictures.PALETTE[1]
        outline = np.zeros((10, 12), bool)
        outline[2, 3:8] = outline[5, 3:8] = outline[2:6, 3] = outline[2:6, 7] = True
        self.assertAllEqual(out[0][outline], np.tile(first, [outline.sum(), 1]))
        self.assertAllEqual(out[0, 0, 0], second)  # 1x1 second glimpse
        interior = np.zeros((10, 12), bool)
        interior[3:5, 4:7] = True
        self.assertAllEqual(out[0][interior], np.zeros((interior.sum(), 3)))
        self.assertAllEqual(out[1, 9, 11], first)  # glimpse 1 is drawn over glimpse 2
        self.assertAllEqual(out[1, 0, 0], [255, 255, 255])


class PlotTest(tf.test.TestCase):
    def test_plot_glimpses_with_and_without_probabilities(self):
        rng = np.random.default_rng(0)
        images = rng.normal(size=(3, 24, 24, 1)).astype("float32")
        boxes = np.array([[[0, 0, 9, 9], [4, 4, 13, 13]]] * 3)
        probabilities = rng.dirichlet(np.ones(16), size=3)
        with tempfile.TemporaryDirectory() as directory:
            path = pictures.plot_glimpses(
                images,
                boxes,
                os.path.join(directory, "a", "glimpses.png"),
                probabilities=probabilities,
                labels=[0, 1, 2],
                predictions=[0, 2, 2],
                columns=2,
            )
            _assert_png(self, path)
            _assert_png(
                self,
                pictures.plot_glimpses(images[:1], boxes[:1], os.path.join(directory, "b.png")),
            )

    def test_titles_name_the_classes(self):
        images = np.zeros((2, 8, 8, 3), np.float32)
        boxes = np.array([[[0, 0, 4, 4]]] * 2)
        shown = []

        def capture(figure, path):
            shown.append([axis.get_title() for axis in figure.axes if axis.get_title()])

        with mock.patch.object(pictures, "_save", side_effect=capture):
            names = ("cat", "dog", "fish")
            pictures.plot_glimpses(images, boxes, "a.png", labels=[2, 0], predictions=[1, 0])
            pictures.plot_glimpses(
                images, boxes, "b.png", labels=[2, 0], predictions=[1, 0], class_names=names
            )
            pictures.plot_glimpses(images, boxes, "c.png", titles=["dog (0.90)", None])
        self.assertEqual(
            shown,
            [
                ["label 2, pred 1", "label 0, pred 0"],
                ["label fish, pred dog", "label cat, pred cat"],
                ["dog (0.90)"],
            ],
        )

    def test_plot_accuracy_vs_glimpses(self):
        with tempfile.TemporaryDirectory() as directory:
            _assert_png(
                self,
                pictures.plot_accuracy_vs_glimpses(_result(), os.path.join(directory, "acc.png")),
            )
            as_dict = _result().as_dict()
            _assert_png(
                self,
                pictures.plot_accuracy_vs_glimpses(
                    as_dict, os.path.join(directory, "acc5.png"), metric="top5"
                ),
            )


class ModelGlimpsesTest(tf.test.TestCase):
    def test_plot_model_glimpses_runs_the_model(self):
        from saccader_tf.models import Saccader

        model = Saccader(
            num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=1
        )
        images = np.random.default_rng(0).normal(size=(2, 24, 24, 1)).astype("float32")
        with tempfile.TemporaryDirectory() as directory:
            _assert_png(
                self,
                pictures.plot_model_glimpses(
                    model, images, os.path.join(directory, "m.png"), labels=[0, 1], num_glimpses=2
                ),
            )
