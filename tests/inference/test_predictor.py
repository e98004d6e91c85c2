"""`saccader_tf.load` / `Predictor.predict` against the models' own outputs on inputs prepared
independently (by hand, or by `preprocess_for_eval` + a model call), and boxes checked by hand."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

import saccader_tf
from saccader_tf.data.preprocessing import preprocess_for_eval
from saccader_tf.inference.image_inputs import NoImagesError, UnreadableImageError
from saccader_tf.inference.predictor import Predictor
from saccader_tf.model_dir.errors import MissingCheckpointError
from saccader_tf.model_dir.model_config import load_trained_model
from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.dram.dram import DRAM
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.utils.errors import BadValueError
from tests.support.paths import REPO_ROOT

OLD_MODEL_DIR = os.path.join(REPO_ROOT, "tests", "data", "model_dir_v0_2")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
RECORD = dict(mean=list(MEAN), std=list(STD), crop_fraction=None, recipe="light")


def _saccader(num_classes=3):
    model = Saccader(
        num_classes=num_classes,
        image_size=28,
        variant="bagnet9_tiny",
        input_channels=3,
        num_glimpses=2,
        seed=1,
    )
    model.build()
    return model


def _by_hand(image):
    """`(x / 255 - mean) / std` of an `S x S` uint8 image: the eval input when no resize is due."""
    return (image.astype(np.float32) / 255.0 - np.float32(MEAN)) / np.float32(STD)


class PredictorTest(tf.test.TestCase):
    def test_saccader_predict_equals_the_model_on_preprocess_for_eval(self):
        model = _saccader()
        names = ["cat", "dog", "fish"]
        predictor = Predictor(model, {**RECORD, "class_names": names}, batch_size=2)
        rng = np.random.default_rng(0)
        images = [
            rng.integers(0, 256, shape, dtype=np.uint8)
            for shape in ((28, 28, 3), (40, 31, 3), (17, 50, 3))
        ]
        results = predictor.predict(images, top_k=2)
        inputs = tf.stack(
            [
                preprocess_for_eval(image, image_size=28, mean=MEAN, std=STD, crop_fraction=None)
                for image in images
            ]
        )
        logits = model(inputs, training=False)["logits"].numpy()
        probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        self.assertLen(results, 3)
        for row, result in enumerate(results):
            order = np.argsort(-probabilities[row])[:2]
            self.assertEqual(result["classes"], list(order))
            self.assertEqual(result["class_names"], [names[i] for i in order])
            self.assertAllClose(result["probabilities"], probabilities[row][order], atol=1e-5)
            self.assertLen(result["glimpse_boxes"], 2)
            self.assertIsNone(result["path"])
        self.assertEqual(
            [(r["height"], r["width"]) for r in results], [(28, 28), (40, 31), (17, 50)]
        )
        self.assertEqual(
            (predictor.image_size, predictor.channels, predictor.class_names),
            (28, 3, ("cat", "dog", "fish")),
        )

    def test_boxes_of_a_2x_image_are_twice_the_model_input_boxes(self):
        model = _saccader()
        predictor = Predictor(model, RECORD)
        small = np.random.default_rng(1).integers(0, 256, (28, 28, 3), dtype=np.uint8)
        # Nearest 2x upsampling: the half-pixel bilinear resize back to 28 samples between two
        # equal pixels, so the model input is exactly the 28 px image's.
        large = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
        out = model(_by_hand(small)[None], training=False)
        boxes = out["glimpse_boxes"].numpy()[0].astype(np.float32)
        on_small, on_large = predictor.predict([small, large])
        self.assertAllClose(on_small["glimpse_boxes"], boxes)
        self.assertAllClose(on_large["glimpse_boxes"], 2 * boxes)
        self.assertEqual(on_small["classes"], on_large["classes"])

    def test_boxes_are_moved_by_the_recorded_centre_crop(self):
        model = _saccader()
        predictor = Predictor(model, {**RECORD, "crop_fraction": 0.5})
        image = np.random.default_rng(2).integers(0, 256, (56, 56, 3), dtype=np.uint8)
        # The centre crop of half of 56 px is rows/columns 14..41: already 28 px, no resize.
        out = model(_by_hand(image[14:42, 14:42])[None], training=False)
        (result,) = predictor.predict(image, top_k=1)
        self.assertAllClose(result["glimpse_boxes"], out["glimpse_boxes"].numpy()[0] + 14.0)
        self.assertEqual(result["classes"], [int(np.argmax(out["logits"][0]))])

    def test_dram_predict_equals_the_model_on_preprocess_for_eval(self):
        model = DRAM(
            num_classes=4, image_size=20, variant="dram_tiny", input_channels=1, num_glimpses=3
        )
        model.build()
        predictor = Predictor(model, {"mean": [0.5], "std": [0.25], "crop_fraction": None})
        rng = np.random.default_rng(3)
        grey = rng.integers(0, 256, (30, 25), dtype=np.uint8)  # [H, W]: one channel
        rgb = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)  # converted to grey
        results = predictor.predict([grey, rgb], top_k=4, num_glimpses=2)
        images = [grey[..., None], tf.image.rgb_to_grayscale(rgb).numpy()]
        inputs = tf.stack(
            [
                preprocess_for_eval(im, image_size=20, mean=[0.5], std=[0.25], crop_fraction=None)
                for im in images
            ]
        )
        out = model(inputs, training=False, num_glimpses=2)
        self.assertEqual(predictor.class_names, ("0", "1", "2", "3"))  # none recorded
        for row, result in enumerate(results):
            logits = out["logits"].numpy()[row]
            self.assertEqual(result["classes"], list(np.argsort(-logits)))
            self.assertLen(result["glimpse_boxes"], 2)
        # The 20 px grey image is not resized: its boxes are the model's own.
        self.assertAllClose(results[1]["glimpse_boxes"], out["glimpse_boxes"].numpy()[1])
        self.assertAllClose(
            results[0]["glimpse_boxes"],
            out["glimpse_boxes"].numpy()[0] * np.float32([30, 25, 30, 25]) / 20.0,
        )

    def test_classnet_predict_uses_the_classnet_logits(self):
        saccader = _saccader(num_classes=2)
        classnet = SaccaderClassNet(saccader, "small_cnn", classifier_image_size=28)
        classnet.build()
        predictor = Predictor(classnet, RECORD)
        image = np.random.default_rng(4).integers(0, 256, (28, 28, 3), dtype=np.uint8)
        out = classnet(_by_hand(image)[None], training=False)
        (result,) = predictor.predict(image, top_k=2)
        self.assertEqual(result["classes"], list(np.argsort(-out["logits"].numpy()[0])))
        self.assertAllClose(result["glimpse_boxes"], out["glimpse_boxes"].numpy()[0])
        self.assertAllClose(result["classifier_boxes"], out["classifier_boxes"].numpy()[0])

    def test_an_old_model_dir_loads_and_predicts_files(self):
        predictor = saccader_tf.load(OLD_MODEL_DIR)
        self.assertEqual((predictor.image_size, predictor.channels), (28, 1))
        self.assertEqual(predictor.class_names, tuple(str(d) for d in range(10)))
        folder = self.get_temp_dir()
        rng = np.random.default_rng(5)
        image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
        Image.fromarray(image).save(os.path.join(folder, "digit.png"))
        Image.fromarray(np.stack([image] * 3, -1)).save(os.path.join(folder, "rgb.bmp"))
        with open(os.path.join(folder, "bad.png"), "wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\ntruncated")
        model = load_trained_model(OLD_MODEL_DIR)
        # preprocessing.json of that run: mean 0, std 1, crop 1.0 (the whole 28 px image).
        out = model(image[None, ..., None].astype(np.float32) / 255.0, training=False)
        expected = list(np.argsort(-out["logits"].numpy()[0])[:3])
        with self.assertRaisesRegex(UnreadableImageError, "bad.png"):
            predictor.predict(folder)
        results = predictor.predict(os.path.join(folder, "*"), top_k=3, skip_bad_files=True)
        self.assertEqual([os.path.basename(r["path"]) for r in results], ["digit.png", "rgb.bmp"])
        self.assertEqual([os.path.basename(p) for p in predictor.skipped], ["bad.png"])
        for result in results:  # the grey RGB file becomes the same one-channel image
            self.assertEqual(result["classes"], expected)
            self.assertAllClose(result["glimpse_boxes"], out["glimpse_boxes"].numpy()[0])

    def test_bad_arguments_are_refused_in_one_line(self):
        predictor = Predictor(_saccader(), RECORD)
        image = np.zeros((28, 28, 3), np.uint8)
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        cases = [
            (dict(images=image, top_k=0), BadValueError, "top_k"),
            (dict(images=image, num_glimpses=99), BadValueError, "cells of the model's grid"),
            (dict(images=np.zeros((4, 0, 3), np.uint8)), BadValueError, "H, W >= 1"),
            (dict(images=[]), BadValueError, "non-empty list"),
            (dict(images=empty), NoImagesError, "holds no PNG"),
            (dict(images=os.path.join(empty, "*.jpg")), NoImagesError, "matches no"),
            (dict(images=os.path.join(empty, "nope.png")), NoImagesError, "No such file"),
        ]
        for kwargs, error, message in cases:
            with self.assertRaisesRegex(error, message):
                predictor.predict(**kwargs)

    def test_load_without_a_trained_model_names_the_fix(self):
        with self.assertRaisesRegex(MissingCheckpointError, "train the model"):
            saccader_tf.load(self.get_temp_dir())


if __name__ == "__main__":
    tf.test.main()
