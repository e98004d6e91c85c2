"""Saccader-ClassNet in evaluation and export: ClassNet rows next to the Saccader's own,
and a SavedModel serving the ClassNet's logits with the Saccader's boxes."""

import csv
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data.source import DataSource, fixed_epochs
from saccader_tf.evaluation.evaluate import (
    evaluate_model,
    format_policy_table,
    format_table,
    policy_accuracies,
    write_results,
)
from saccader_tf.evaluation.pictures import plot_accuracy_vs_glimpses
from saccader_tf.export.savedmodel import export_model
from saccader_tf.models import Saccader, SaccaderClassNet


def _classnet(classifier_image_size=42, seed=3):
    keras.utils.set_random_seed(seed)
    saccader = Saccader(
        num_classes=5,
        image_size=28,
        variant="bagnet9_tiny",
        input_channels=1,
        num_glimpses=3,
        seed=seed,
    )
    net = SaccaderClassNet(
        saccader, "small_cnn", classifier_image_size=classifier_image_size, small_cnn_widths=(4, 8)
    )
    net.build()
    return net


def _source(images, labels, image_size):
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
    return DataSource(
        train_epoch=fixed_epochs(dataset),
        eval=dataset,
        num_classes=5,
        image_size=image_size,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="test",
    )


class ClassNetEvaluationTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net = _classnet()
        rng = np.random.default_rng(0)
        cls.images = rng.normal(size=(6, 42, 42, 1)).astype("float32")
        # Labels the ClassNet gets right on images 0-3 with T = 3, wrong on 4-5.
        labels = cls.net(cls.images, num_glimpses=3)["logits"].numpy().argmax(-1)
        labels[4:] = (labels[4:] + 1) % 5
        cls.labels = labels.astype("int32")
        cls.result = evaluate_model(
            cls.net.saccader,
            _source(cls.images, cls.labels, 42),
            max_glimpses=3,
            policies=("learned", "full"),
            occlusion_glimpses=(),
            classnet=cls.net,
        )

    def test_classnet_rows_equal_the_models_own_predictions(self):
        small = self.net.saccader_inputs(self.images)
        self.assertEqual(self.result.row("learned", 3, network="classnet")["top1"], 4 / 6)
        for t in (1, 2, 3):
            logits = self.net(self.images, num_glimpses=t)["logits"].numpy()
            expected = np.mean(logits.argmax(-1) == self.labels)
            self.assertAllClose(self.result.row("learned", t, network="classnet")["top1"], expected)
            # The Saccader's own rows: its logits on the images at its size, same glimpses.
            own = self.net.saccader(small, num_glimpses=t)["logits"].numpy()
            self.assertAllClose(
                self.result.row("learned", t)["top1"], np.mean(own.argmax(-1) == self.labels)
            )
            self.assertEqual(
                self.result.row("learned", t, network="classnet")["coverage"],
                self.result.row("learned", t)["coverage"],
            )
        networks = [(row["policy"], row["network"]) for row in self.result.rows]
        self.assertEqual(networks.count(("learned", "classnet")), 3)

    def test_table_files_and_plot_label_the_classnet_rows(self):
        table = format_table(self.result)
        self.assertIn("learned         classnet         3   66.67%", table)
        self.assertIn("network: classnet = the Saccader-ClassNet", table)
        directory = tempfile.mkdtemp()
        paths = write_results(self.result, directory)
        with open(paths["csv"]) as f:
            rows = [row for row in csv.DictReader(f) if row["network"] == "classnet"]
        self.assertEqual([row["glimpses"] for row in rows], ["1", "2", "3"])
        plot = plot_accuracy_vs_glimpses(self.result, os.path.join(directory, "plot.png"))
        self.assertGreater(os.path.getsize(plot), 0)

    def test_policy_comparison_has_a_classnet_row(self):
        dataset = tf.data.Dataset.from_tensor_slices((self.images, self.labels)).batch(4)
        result = policy_accuracies(
            self.net.saccader, dataset, num_glimpses=3, policies=("full",), classnet=self.net
        )  # "learned" not compared: its own unroll
        self.assertAllClose(result["classnet"]["learned"], 4 / 6)
        table = format_policy_table(result, 3)
        self.assertIn("learned         classnet         3    66.67%  33.33%", table)
        with self.assertRaisesRegex(ValueError, "must wrap the evaluated Saccader"):
            policy_accuracies(_classnet(seed=4).saccader, dataset, classnet=self.net)


class ClassNetExportTest(tf.test.TestCase):
    def test_saved_model_serves_the_classnet_logits_and_the_saccaders_boxes(self):
        net = _classnet(seed=5)  # S_cls = 42 (served size), S_sac = 28
        export_dir = export_model(
            net,
            os.path.join(tempfile.mkdtemp(), "export"),
            mean=(0.5,),
            std=(0.25,),
            crop_fraction=None,
            top_k=2,
            max_glimpses=2,
        )
        loaded = tf.saved_model.load(export_dir)
        raw = np.random.default_rng(1).integers(0, 256, size=(2, 42, 42, 1)).astype(np.uint8)
        inputs = (raw.astype(np.float32) / 255.0 - 0.5) / 0.25  # same size: no resize
        served = loaded.serving_default(tf.constant(raw))
        expected = net(inputs, training=False)
        self.assertAllClose(served["logits"], expected["logits"], atol=1e-5)
        self.assertAllClose(served["probabilities"], tf.nn.softmax(expected["logits"]), atol=1e-6)
        self.assertAllEqual(served["glimpse_cells"], expected["cells"])
        # The Saccader's own choice on the images at its size, its boxes scaled 28 px -> 42 px.
        saccader = net.saccader(net.saccader_inputs(inputs), training=False)
        self.assertAllEqual(saccader["cells"], expected["cells"])
        self.assertAllClose(
            served["glimpse_boxes"], saccader["glimpse_boxes"].numpy().astype(np.float32) * 42 / 28
        )
        self.assertAllClose(served["classifier_boxes"], expected["classifier_boxes"])
        # No class names given: the indices as strings.
        indices = served["top_k_classes"].numpy()
        self.assertAllEqual(served["top_k_class_names"].numpy().astype(str), indices.astype(str))
        for t in (1, 2):
            dynamic = loaded.serve_glimpses(tf.constant(raw), tf.fill([len(raw)], t))
            reference = net(inputs, training=False, num_glimpses=t)
            self.assertAllClose(dynamic["logits"], reference["logits"], atol=1e-5)
            self.assertAllEqual(dynamic["glimpse_cells"], reference["cells"])
            self.assertAllClose(dynamic["classifier_boxes"], reference["classifier_boxes"])
