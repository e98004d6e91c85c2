"""Tests of `saccader_tf.export.savedmodel`: a SavedModel that serves uint8 images, reloaded with
TensorFlow only.

One tiny model is exported once per class; one fresh subprocess (no `saccader_tf`, no
`tensorflow_probability`) loads it, runs every endpoint and bad input, then calls it from four
threads, and saves the outputs; the tests compare them with the Keras model. The subprocess has a
timeout, so a call that never returns fails the tests instead of stopping the suite.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf import model_dir as checkpoints
from saccader_tf.data.normalization import normalize_images
from saccader_tf.data.preprocessing import RECIPES, Recipe, preprocess_for_eval
from saccader_tf.export.savedmodel import (
    export_model,
    input_boxes,
    max_served_glimpses,
    preprocess_images,
)
from saccader_tf.models.saccader.saccader import Saccader

SIZE = 24
MEAN, STD = (0.5,), (0.25,)
MAX_T = 4  # served glimpse counts 1..4 (export time grows with it; the model's grid has 16 cells)
TOP_K = 3
CLASS_NAMES = ("cat", "dog", "emu", "fox", "gnu")

_LOADER = r"""
import json, os, sys, threading
import numpy as np
import tensorflow as tf

export_dir, inputs_path, outputs_path, errors_path, max_t = sys.argv[1:6]
max_t = int(max_t)
loaded = tf.saved_model.load(export_dir)
inputs = dict(np.load(inputs_path))
results = {}

def run(prefix, fn, *args):
    for key, value in fn(*args).items():
        value = value.numpy()
        results[prefix + "/" + key] = value.astype(str) if value.dtype == object else value

large = tf.constant(inputs["large"])
run("same", loaded.serving_default, tf.constant(inputs["same"]))
run("large", loaded.serving_default, large)
run("empty", loaded.serving_default, tf.constant(inputs["empty"]))
run("signature", lambda x: loaded.signatures["serving_default"](images=x), tf.constant(inputs["same"]))
for t in range(1, max_t + 1):
    run("glimpses%d" % t, loaded.serve_glimpses, large, tf.fill([2], t))
run("glimpses_rows", loaded.serve_glimpses, large, tf.constant([1, max_t]))
run("glimpses_empty", loaded.serve_glimpses, tf.constant(inputs["empty"]), tf.zeros([0], tf.int32))

errors = {}
def error(name, fn):
    try:
        fn()
        errors[name] = "no error"
    except Exception as e:
        errors[name] = (type(e).__name__ + ": " + str(e))[:3000]

error("float", lambda: loaded.serving_default(tf.constant(inputs["same"].astype(np.float32))))
error("channels", lambda: loaded.serving_default(tf.zeros([2, 24, 24, 3], tf.uint8)))
error("rank", lambda: loaded.serving_default(tf.zeros([24, 24, 1], tf.uint8)))
error("zero_height", lambda: loaded.serving_default(tf.zeros([1, 0, 5, 1], tf.uint8)))
error("glimpses_zero", lambda: loaded.serve_glimpses(large, tf.constant([0, 1])))
error("glimpses_too_many", lambda: loaded.serve_glimpses(large, tf.constant([1, max_t + 1])))
error("glimpses_one_count", lambda: loaded.serve_glimpses(large, tf.constant([1])))
error("glimpses_scalar", lambda: loaded.serve_glimpses(large, tf.constant(1)))

# After the refused calls above, calls from other threads (attributes and signatures) finish.
finished = []
def call(i):
    if i % 2:
        loaded.signatures["serving_default"](images=tf.constant(inputs["same"]))
    else:
        loaded.serving_default(tf.constant(inputs["same"]))
    loaded.serve_glimpses(large, tf.fill([2], 1))
    finished.append(i)
threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(120)
errors["threads_finished"] = len(finished)
errors["modules"] = sorted(m for m in ("saccader_tf", "tensorflow_probability") if m in sys.modules)
np.savez(outputs_path, **results)
with open(errors_path, "w") as f:
    json.dump(errors, f)
sys.stdout.flush()
os._exit(0)  # a thread that never finished would keep the interpreter from exiting
"""  # noqa: E501 (a script run in a subprocess)


def _tiny_saccader():
    return Saccader(
        num_classes=5, image_size=SIZE, variant="bagnet9_tiny", input_channels=1, seed=1
    )


@pytest.mark.slow  # reloads the export in a fresh process
class ExportedSaccaderTest(tf.test.TestCase):
    """Runs the export and the TensorFlow-only reload once; each test checks one behaviour."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        rng = np.random.RandomState(0)
        cls.inputs = {
            "same": rng.randint(0, 256, (3, SIZE, SIZE, 1)).astype(np.uint8),
            "large": rng.randint(0, 256, (2, 2 * SIZE, 2 * SIZE + 12, 1)).astype(
                np.uint8
            ),  # 48 x 60
            "empty": np.zeros((0, 30, 30, 1), np.uint8),
        }
        cls.model = _tiny_saccader()
        export_dir = os.path.join(cls.tmp.name, "export")
        export_model(
            cls.model,
            export_dir,
            mean=MEAN,
            std=STD,
            crop_fraction=1.0,
            top_k=TOP_K,
            max_glimpses=MAX_T,
            class_names=CLASS_NAMES,
        )
        cls.export_files = sorted(
            os.path.relpath(os.path.join(d, f), cls.tmp.name)
            for d, _, files in os.walk(cls.tmp.name)
            for f in files
        )
        paths = [os.path.join(cls.tmp.name, name) for name in ("in.npz", "out.npz", "errors.json")]
        np.savez(paths[0], **cls.inputs)
        cls.proc = subprocess.run(
            [sys.executable, "-c", _LOADER, export_dir, *paths, str(MAX_T)],
            cwd=cls.tmp.name,
            capture_output=True,
            text=True,
            timeout=300,
        )
        cls.out, cls.errors = {}, {}
        if cls.proc.returncode == 0:
            cls.out = dict(np.load(paths[1]))
            with open(paths[2]) as f:
                cls.errors = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.assertEqual(self.proc.returncode, 0, msg=self.proc.stderr[-3000:])

    def _reference(self, images, num_glimpses=None):
        # The Keras model on the images as the evaluation pipeline preprocesses them.
        inputs = tf.stack(
            [
                preprocess_for_eval(image, image_size=SIZE, mean=MEAN, std=STD, crop_fraction=1.0)
                for image in images
            ]
        )
        return self.model(inputs, training=False, num_glimpses=num_glimpses)

    def test_loads_without_saccader_tf_or_tfp(self):
        self.assertEqual(self.errors["modules"], [])

    def test_same_size_input_matches_keras(self):
        ref = self._reference(self.inputs["same"])
        self.assertAllClose(self.out["same/logits"], ref["logits"], atol=1e-5, rtol=0)
        self.assertAllEqual(self.out["same/glimpse_cells"], ref["cells"])
        self.assertEqual(self.out["same/glimpse_cells"].dtype, np.int32)
        # Same size: crop window (0, 0, 24) and scale 1, so the boxes are the model's boxes.
        self.assertAllEqual(
            self.out["same/glimpse_boxes"], tf.cast(ref["glimpse_boxes"], tf.float32)
        )

    def test_probabilities_and_top_k(self):
        logits = self.out["same/logits"]
        probabilities = tf.nn.softmax(logits).numpy()
        self.assertAllClose(self.out["same/probabilities"], probabilities, atol=1e-6)
        expected_classes = np.argsort(-probabilities, axis=-1)[:, :TOP_K]
        self.assertAllEqual(self.out["same/top_k_classes"], expected_classes)
        self.assertAllClose(
            self.out["same/top_k_scores"],
            np.take_along_axis(probabilities, expected_classes, axis=-1),
            atol=1e-6,
        )

    def test_signature_gives_the_same_outputs(self):
        for key in ("logits", "glimpse_cells", "glimpse_boxes", "top_k_classes"):
            self.assertAllEqual(self.out[f"signature/{key}"], self.out[f"same/{key}"])

    def test_larger_input_matches_keras_on_the_resized_image(self):
        ref = self._reference(self.inputs["large"])
        self.assertAllClose(self.out["large/logits"], ref["logits"], atol=1e-5, rtol=0)
        self.assertAllEqual(self.out["large/glimpse_cells"], ref["cells"])
        self.assertEqual(self.out["large/glimpse_cells"].shape, (2, self.model.num_glimpses))

    def test_larger_input_boxes_map_back_to_input_pixels(self):
        ref = self._reference(self.inputs["large"])
        # 48 x 60 input, crop_fraction 1: a 48 x 48 crop at (top, left) = (0, 6), scale 48 / 24 = 2.
        expected = ref["glimpse_boxes"].numpy().astype(np.float32) * 2.0 + np.array(
            [0, 6, 0, 6], np.float32
        )
        self.assertAllEqual(self.out["large/glimpse_boxes"], expected)

    def test_serve_glimpses_matches_keras_for_every_t(self):
        for t in range(1, MAX_T + 1):
            ref = self._reference(self.inputs["large"], num_glimpses=t)
            self.assertAllClose(self.out[f"glimpses{t}/logits"], ref["logits"], atol=1e-5, rtol=0)
            self.assertAllEqual(self.out[f"glimpses{t}/glimpse_cells"], ref["cells"])
            self.assertEqual(self.out[f"glimpses{t}/glimpse_boxes"].shape, (2, t, 4))

    def test_serve_glimpses_takes_one_count_per_row(self):
        # Rows with counts (1, MAX_T): each row is the Keras model's with its own T; the shorter
        # row is padded to the batch's largest count with cells -1 and boxes 0.
        prefix = "glimpses_rows"
        self.assertEqual(self.out[f"{prefix}/glimpse_cells"].shape, (2, MAX_T))
        for row, t in enumerate((1, MAX_T)):
            ref = self._reference(self.inputs["large"][row : row + 1], num_glimpses=t)
            self.assertAllClose(
                self.out[f"{prefix}/logits"][row], ref["logits"][0], atol=1e-5, rtol=0
            )
            cells = self.out[f"{prefix}/glimpse_cells"][row]
            self.assertAllEqual(cells[:t], ref["cells"][0])
            self.assertAllEqual(cells[t:], [-1] * (MAX_T - t))
            self.assertAllEqual(
                self.out[f"{prefix}/glimpse_boxes"][row, t:], np.zeros([MAX_T - t, 4])
            )

    def test_class_names_beside_the_indices(self):
        names = np.array(CLASS_NAMES)[self.out["same/top_k_classes"]]
        self.assertAllEqual(self.out["same/top_k_class_names"].astype(str), names)

    def test_no_temporary_files_in_the_export(self):
        self.assertEqual([f for f in self.export_files if ".tmp" in f or "partial" in f], [])
        self.assertIn(os.path.join("export", "saved_model.pb"), self.export_files)

    def test_calls_from_threads_finish_after_refused_calls(self):
        self.assertEqual(self.errors["threads_finished"], 4)

    def test_empty_batch_gives_empty_outputs(self):
        t, k = self.model.num_glimpses, TOP_K
        # An empty serve_glimpses batch has T = 1 (its largest count is taken as 1).
        for prefix, steps in (("empty", t), ("glimpses_empty", 1)):
            shapes = {
                key: self.out[f"{prefix}/{key}"].shape
                for key in (
                    "logits",
                    "probabilities",
                    "top_k_classes",
                    "top_k_class_names",
                    "top_k_scores",
                    "glimpse_boxes",
                    "glimpse_cells",
                )
            }
            self.assertEqual(
                shapes,
                {
                    "logits": (0, 5),
                    "probabilities": (0, 5),
                    "top_k_classes": (0, k),
                    "top_k_class_names": (0, k),
                    "top_k_scores": (0, k),
                    "glimpse_boxes": (0, steps, 4),
                    "glimpse_cells": (0, steps),
                },
            )

    def test_bad_inputs_name_what_is_expected(self):
        # Refused when the graph runs (the loaded endpoints are concrete functions).
        self.assertRegex(
            self.errors["float"],
            "InvalidArgumentError.*expected to be a uint8 tensor but is a float",
        )
        self.assertIn(
            "serving_default expects uint8 images [N, H, W, 1] with H, W >= 1; got another channel",
            self.errors["channels"],
        )
        self.assertStartsWith(self.errors["rank"], "InvalidArgumentError")
        self.assertIn(
            "serving_default expects uint8 images [N, H, W, 1]", self.errors["zero_height"]
        )
        expected = f"serve_glimpses expects one num_glimpses per image, each in [1, {MAX_T}]"
        for name in ("glimpses_zero", "glimpses_too_many", "glimpses_one_count"):
            self.assertIn(expected, self.errors[name])
        self.assertStartsWith(self.errors["glimpses_scalar"], "InvalidArgumentError")


class PreprocessingTest(tf.test.TestCase):
    def test_same_size_resize_is_identity(self):
        images = np.random.RandomState(1).randint(0, 256, (2, SIZE, SIZE, 1)).astype(np.uint8)
        inputs, window = preprocess_images(tf.constant(images), image_size=SIZE, mean=MEAN, std=STD)
        self.assertAllEqual(inputs, normalize_images(images, MEAN, STD))
        self.assertAllEqual(window, (0, 0, SIZE, SIZE))

    def test_no_crop_is_a_plain_resize_and_boxes_scale_per_axis(self):
        images = np.random.RandomState(3).randint(0, 256, (1, 40, 30, 1)).astype(np.uint8)
        inputs, window = preprocess_images(
            tf.constant(images), image_size=SIZE, mean=MEAN, std=STD, crop_fraction=None
        )
        expected = normalize_images(tf.image.resize(images, [SIZE, SIZE]), MEAN, STD)
        self.assertAllClose(inputs, expected, atol=1e-6, rtol=0)
        # A box (ymin, xmin, ymax, xmax) = (3, 6, 9, 12) of the S x S input maps back with the
        # scales 40 / S and 30 / S.
        boxes = input_boxes(tf.constant([[3, 6, 9, 12]]), window, SIZE)
        self.assertAllClose(boxes, [[3 * 40 / SIZE, 6 * 30 / SIZE, 9 * 40 / SIZE, 12 * 30 / SIZE]])

    def test_matches_each_recipes_evaluation(self):
        images = np.random.RandomState(2).randint(0, 256, (2, 40, 30, 3)).astype(np.uint8)
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        for name in RECIPES:
            recipe = Recipe(name)
            inputs, window = preprocess_images(
                tf.constant(images),
                image_size=16,
                mean=mean,
                std=std,
                crop_fraction=recipe.eval_crop_fraction(16),
                resize_method=recipe.resize_method,
            )
            for i in range(2):
                expected = recipe.eval(images[i], image_size=16, mean=mean, std=std)
                self.assertAllClose(inputs[i], expected, atol=1e-5, rtol=0, msg=name)
            # 40 x 30: `imagenet` keeps round(0.875 * 30) = 26 (left (30 - 26) // 2 = 2, top 7),
            # `imagenet_tf1` round(30 * 16 / 17) = 28 (16 / (16 + 1)), the others everything.
            expected_window = {
                "imagenet": (7, 2, 26, 26),
                "imagenet_tf1": (6, 1, 28, 28),
                "light": (0, 0, 40, 30),
                "none": (0, 0, 40, 30),
            }[name]
            self.assertAllEqual(window, expected_window, msg=name)


class ExportHelpersTest(tf.test.TestCase):
    def test_max_served_glimpses_is_capped_at_the_grid(self):
        model = _tiny_saccader()  # 4 x 4 grid
        self.assertEqual(max_served_glimpses(model), 12)
        self.assertEqual(max_served_glimpses(model, 20), 16)

    def test_export_argument_errors(self):
        model = _tiny_saccader()
        export_dir = os.path.join(self.get_temp_dir(), "never")
        cases = (
            (dict(mean=(0.5, 0.5), std=STD), "one value per channel"),
            (dict(mean=MEAN, std=(0.0,)), "must be positive"),
            (dict(mean=MEAN, std=STD, crop_fraction=0.0), "crop_fraction=0.0"),
            (dict(mean=MEAN, std=STD, top_k=0), "top_k=0"),
        )
        for kwargs, message in cases:
            with self.assertRaisesRegex(ValueError, message):
                export_model(model, export_dir, **kwargs)
        self.assertFalse(os.path.exists(export_dir))

    def test_load_trained_model(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        with self.assertRaises(checkpoints.MissingCheckpointError):
            checkpoints.load_trained_model(model_dir)  # no model_config.json
        model = _tiny_saccader()
        images = tf.random.stateless_normal([2, SIZE, SIZE, 1], seed=[1, 2])
        expected = model(images, training=False)
        checkpoints.check_model_config(model_dir, model.get_config())
        with self.assertRaisesRegex(checkpoints.MissingCheckpointError, r"stage-3\) checkpoint"):
            checkpoints.load_trained_model(model_dir)
        fresh = Saccader.from_config(checkpoints.load_model_config(model_dir))
        self.assertNotAllClose(fresh(images, training=False)["logits"], expected["logits"])
        checkpoints.save_stage(model, model_dir, 3)
        loaded = checkpoints.load_trained_model(model_dir)
        self.assertIsInstance(loaded, Saccader)
        out = loaded(images, training=False)
        self.assertAllClose(out["logits"], expected["logits"], atol=1e-6)
        self.assertAllEqual(out["cells"], expected["cells"])
