"""Small image folders of mixed formats (PNG and JPEG, grayscale and RGB) for the TFRecord tests,
and their shards."""

import os

import numpy as np
from PIL import Image

from saccader_tf.data.write_tfrecords import write_tfrecord_shards

CLASSES = ("ant", "bee", "cat")


def write_mixed_folder(root, *, train=24, val=6, size=28, gray_only=False, seed=0):
    """Writes `train` + `val` random images, image `i` of a split in class `CLASSES[i % 3]`, as
    `<root>/<split>/<class>/<i>.png|.jpg`: even `i` PNG, odd `i` JPEG; every third image grayscale
    (all of them with `gray_only`). Sides vary around `size` (`size x size` for PNGs, so a recipe
    at `image_size=size` keeps their pixels).

    Returns:
        `{split: [(path, class index), ...]}` in index order.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, count in (("train", train), ("val", val)):
        written[split] = []
        for i in range(count):
            label = i % len(CLASSES)
            png = i % 2 == 0
            height, width = (size, size) if png else (size + i % 5, size + 3 + i % 7)
            image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
            if gray_only or i % 3 == 0:
                image = image.convert("L")
            path = os.path.join(root, split, CLASSES[label], f"{i}.{'png' if png else 'jpg'}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            image.save(path, "PNG" if png else "JPEG", quality=90)
            written[split].append((path, label))
    return written


def write_corrupt_jpeg(path):
    """A file with a JPEG signature and a body no decoder can read (passes the listing check)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 40)


def write_shards(folder, out, **kwargs):
    """`write_tfrecord_shards(folder, out)` without progress lines; returns `out`."""
    write_tfrecord_shards(folder, out, progress=False, **kwargs)
    return out
