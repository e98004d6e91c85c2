"""A tiny Saccader and data for trainer tests (the model of `comparable_models.tiny_saccader`)."""

import keras
import numpy as np

from tests.support.comparable_models import TINY_SACCADER, tiny_saccader


def model(seed=0):
    """A built tiny Saccader named `saccader` (fixed variable paths `saccader/...`), T = 6."""
    keras.utils.set_random_seed(seed)  # the weight initialisers are unseeded
    return tiny_saccader(seed=seed, name="saccader")


def data(batch=8, seed=0):
    """Normal images `[batch, 24, 24, 1]` and uniform labels in `[0, 5)`."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(batch, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, TINY_SACCADER["num_classes"], size=batch).astype("int32")
    return images, labels


def labels_with_three_correct(predictions):
    """Labels making exactly 3 of 8 predictions right: no 4/4 split has the global mean 3/8."""
    labels = (predictions + 1) % TINY_SACCADER["num_classes"]
    labels[[0, 5, 6]] = predictions[[0, 5, 6]]
    return labels.astype("int32")
