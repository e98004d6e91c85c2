"""`--stage=predict` as a user runs it: a tiny model trained on a folder of three named classes
(its per-class accuracies named after the folders), then predictions on a folder of mixed files
(PNG and JPEG, grey and RGB, odd sizes, one corrupt).

The predictions to JSON lines run the command in a subprocess, as a user does (its output is a
pipe, its warnings go through absl); the training, the CSV run and the refused runs go through the
same `launcher.main` in this process (no second interpreter start)."""

import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.support.image_folder_fixture import write_random_image_folder
from tests.support.launcher_flags import TINY_ARGS, launch_in_process

CLASSES = ("cat", "dog", "fish")


def _launch(*flags):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "saccader_tf.launch", *flags],
        capture_output=True,
        text=True,
        timeout=500,
        env=env,
    )


def _write_photos(folder):
    """Mixed files; returns `{name: (height, width)}` of the readable ones."""
    rng = np.random.default_rng(7)
    sizes = {"rgb.png": (56, 56, 3), "grey.jpg": (45, 70), "sub/odd.jpeg": (33, 29, 3)}
    for name, shape in sizes.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    with open(os.path.join(folder, "broken.png"), "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\nnot an image")
    return {name: shape[:2] for name, shape in sizes.items()}


def _check_per_class(test, model_dir, stdout):
    """The per-class record after training: the folder names, 2 test images each (6 images in
    the one evaluation batch), accuracies that add up to the policy comparison's."""
    with open(os.path.join(model_dir, "per_class_accuracy.json")) as handle:
        per_class = json.load(handle)
    with open(os.path.join(model_dir, "policy_accuracy.json")) as handle:
        overall = json.load(handle)
    classes = per_class["classes"]
    test.assertEqual([c["name"] for c in classes], list(CLASSES))
    test.assertEqual([c["examples"] for c in classes], [2, 2, 2])
    test.assertEqual(per_class["glimpses"], 2)
    for column in ("learned", "full"):
        right = sum(c[column] * c["examples"] for c in classes)
        test.assertAlmostEqual(right / 6, overall["final"][column])
    test.assertIn("per-class top-1 accuracy (worst first):", stdout)
    test.assertIn(f"(3 classes; every class in {model_dir}/per_class_accuracy.json)", stdout)


@pytest.mark.slow  # trains in process, predicts in a subprocess
class LaunchPredictTest(tf.test.TestCase):
    """One model_dir trained once (the class keeps to one worker), predicted from three ways."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = root = cls.tmp.name
        data = write_random_image_folder(
            os.path.join(root, "data"), train=12, val=6, height=32, width=32, num_classes=3
        )
        for split in ("train", "val"):  # class folders named as a user names them
            for k, name in enumerate(CLASSES):
                os.rename(os.path.join(data, split, f"c{k}"), os.path.join(data, split, name))
        cls.model_dir = os.path.join(root, "run")
        cls.trained = launch_in_process(
            *TINY_ARGS, "--skip_stage2", f"--dataset=folder:{data}", f"--model_dir={cls.model_dir}"
        )
        cls.photos = os.path.join(root, "photos")
        cls.sizes = _write_photos(cls.photos)
        cls.flags = [f"--model_dir={cls.model_dir}", f"--images={cls.photos}", "--top_k=2"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        code, out, err = self.trained
        self.assertEqual(code, 0, (out + err)[-3000:])

    def test_training_wrote_per_class_accuracy_named_after_the_folders(self):
        _check_per_class(self, self.model_dir, self.trained[1])

    def test_predict_writes_one_record_per_readable_image_with_the_trained_names(self):
        output = os.path.join(self.root, "out", "predictions.jsonl")
        pictures = os.path.join(self.root, "pictures")
        run = _launch(
            "--stage=predict", *self.flags, f"--output={output}", f"--pictures_dir={pictures}"
        )
        self.assertEqual(run.returncode, 0, (run.stdout + run.stderr)[-3000:])
        with open(output) as handle:
            records = [json.loads(line) for line in handle]
        photos, sizes = self.photos, self.sizes
        names = [os.path.relpath(r["path"], photos) for r in records]
        self.assertEqual(names, sorted(sizes))  # sorted paths; the corrupt file left out
        for record in records:
            name = os.path.relpath(record["path"], photos)
            self.assertEqual((record["height"], record["width"]), sizes[name])
            self.assertLen(record["class_names"], 2)
            self.assertTrue(set(record["class_names"]) <= set(CLASSES), record)
            self.assertEqual(record["class_names"], [CLASSES[k] for k in record["classes"]])
            self.assertAlmostEqual(record["probabilities"][0], max(record["probabilities"]))
            self.assertEqual(np.asarray(record["glimpse_boxes"]).shape, (2, 4))
        broken = os.path.join(photos, "broken.png")
        self.assertIn(f"skipping unreadable image file {broken}", run.stderr)
        self.assertIn(f"skipped 1 unreadable file(s): {broken}", run.stdout)
        self.assertIn("predict: 4/4 images (1 unreadable)", run.stdout)
        self.assertNotIn("\x1b[", run.stdout)  # no terminal codes in a pipe
        self.assertLen(os.listdir(pictures), 3)

    def test_predict_to_csv_with_fewer_glimpses(self):
        output_csv = os.path.join(self.root, "predictions.csv")
        code, out, err = launch_in_process(
            "--stage=predict", *self.flags, f"--output={output_csv}", "--num_glimpses=1"
        )
        self.assertEqual(code, 0, (out + err)[-3000:])
        with open(output_csv, newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.assertEqual(
            [os.path.relpath(r["path"], self.photos) for r in rows], sorted(self.sizes)
        )
        for row in rows:
            self.assertIn(row["name_1"], CLASSES)
            self.assertEqual(len(json.loads(row["glimpse_boxes"])), 1)  # --num_glimpses=1

    def test_an_empty_folder_or_an_untrained_model_dir_is_one_line(self):
        empty = os.path.join(self.root, "empty")
        os.makedirs(empty)
        output = os.path.join(self.root, "refused.jsonl")
        for model, images, message in (
            (self.model_dir, empty, f"The folder {empty} holds no PNG, JPEG, BMP or GIF file"),
            (os.path.join(self.root, "none"), self.photos, "No trained model in"),
        ):
            code, _, err = launch_in_process(
                "--stage=predict",
                f"--model_dir={model}",
                f"--images={images}",
                f"--output={output}",
            )
            self.assertEqual(code, 2, err[-2000:])
            last = err.strip().splitlines()[-1]
            self.assertTrue(last.startswith("error: ") and message in last, last)


if __name__ == "__main__":
    tf.test.main()
