"""A tiny Saccader and data for trainer tests."""

import keras
import numpy as np

from saccader_tf.models.saccader.saccader import Saccader

TINY = {"num_classes": 5, "image_size": 24, "variant": "bagnet9_tiny", "input_channels": 1}


def model(seed=0):
    keras.utils.set_random_seed(seed)  # the weight initialisers are unseeded
    model = Saccader(**TINY, seed=seed, name="saccader")  # fixed variable paths "saccader/..."
    model.build()
    return model


def data(batch=8, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(batch, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, TINY["num_classes"], size=batch).astype("int32")
    return images, labels


def labels_with_three_correct(predictions):
    """Labels making exactly 3 of 8 predictions right: no 4/4 split has the global mean 3/8."""
    labels = (predictions + 1) % TINY["num_classes"]
    labels[[0, 5, 6]] = predictions[[0, 5, 6]]
    return labels.astype("int32")
