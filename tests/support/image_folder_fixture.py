"""Writes small random image folders (`<root>/train/c<k>/<i>.png`, `<root>/val/...`) for tests."""

import os

import numpy as np
from PIL import Image


def write_random_image_folder(root, *, train, val, height, width, num_classes=2, seed=0):
    """Writes `train` and `val` random RGB PNGs, image `i` in class folder `c<i % num_classes>`.

    Returns:
        `root`.
    """
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        for i in range(count):
            path = os.path.join(root, split, f"c{i % num_classes}", f"{i}.png")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return root
