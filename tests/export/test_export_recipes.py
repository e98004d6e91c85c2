"""The export preprocesses raw images as the data pipeline evaluates them, for every preprocessing
recipe, and still computes what the v0.2 export computed (`tests/data/model_dir_v0_2_serving.npz`:
the outputs of an export of `tests/data/model_dir_v0_2` made by v0.2's code)."""

import os

import keras
import numpy as np
import tensorflow as tf

from saccader_tf import model_dir
from saccader_tf.data.preprocessing import Recipe, resize_method_of
from saccader_tf.export.savedmodel import export_model
from saccader_tf.models.saccader.saccader import Saccader

SIZE = 28
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
V0_2_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "data", "model_dir_v0_2")


def _served(export_dir, images):
    """`serving_default` of the SavedModel in `export_dir`, called through its signature."""
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    return {key: value.numpy() for key, value in serve(images=tf.constant(images)).items()}


class ExportPerRecipeTest(tf.test.TestCase):
    def test_served_logits_are_the_models_on_the_recipes_eval_inputs(self):
        keras.utils.set_random_seed(11)
        model = Saccader(
            num_classes=3, image_size=SIZE, variant="bagnet9_tiny", input_channels=3, seed=2
        )
        # 37 x 50: `imagenet_tf1` crops (bicubic), `light` resizes the whole image (bilinear).
        images = np.random.RandomState(5).randint(0, 256, (2, 37, 50, 3)).astype(np.uint8)
        for name in ("imagenet_tf1", "light"):
            recipe = Recipe(name)
            export_dir = export_model(
                model,
                os.path.join(self.get_temp_dir(), name),
                mean=MEAN,
                std=STD,
                crop_fraction=recipe.eval_crop_fraction(SIZE),
                resize_method=recipe.resize_method,
            )
            served = _served(export_dir, images)
            inputs = tf.stack(
                [recipe.eval(image, image_size=SIZE, mean=MEAN, std=STD) for image in images]
            )
            expected = model(inputs, training=False)
            self.assertAllClose(served["logits"], expected["logits"], atol=1e-5, rtol=0, msg=name)
            self.assertAllEqual(served["glimpse_cells"], expected["cells"], msg=name)

    def test_v0_2_model_dir_exports_the_v0_2_outputs(self):
        recorded = np.load(V0_2_DIR + "_serving.npz")
        preprocessing = model_dir.load_preprocessing(V0_2_DIR)
        model = model_dir.load_trained_model(V0_2_DIR)
        export_dir = export_model(
            model,
            os.path.join(self.get_temp_dir(), "v0_2"),
            mean=preprocessing["mean"],
            std=preprocessing["std"],
            crop_fraction=preprocessing["crop_fraction"],
            resize_method=resize_method_of(preprocessing["recipe"]),
        )
        served = _served(export_dir, recorded["images"])
        for key in ("glimpse_cells", "top_k_classes"):
            self.assertAllEqual(served[key], recorded[key], msg=key)
        for key in ("logits", "probabilities", "top_k_scores", "glimpse_boxes"):
            self.assertAllClose(served[key], recorded[key], atol=1e-5, rtol=0, msg=key)
