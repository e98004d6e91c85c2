"""`python -m saccader_tf.data.write_folder OUT`: the built-in cluttered MNIST as an image folder.

Writes `OUT/train/<digit>/<index>.png` and `OUT/val/<digit>/<index>.png` (grayscale 8-bit PNGs,
lossless), exactly the images `cluttered_mnist_source` generates for the same settings: the
training images and the held-out test images (the 1,000 test digits, never seen in training). So the
image-folder path (`--dataset=folder:OUT`) can be tried, and compared with the built-in source, on
data whose right answer is known:

    python -m saccader_tf.data.write_folder data/cmnist --train_examples=20000
    python -m saccader_tf.launch --dataset=folder:data/cmnist --model_dir=runs/folder
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image

from saccader_tf.data.cluttered_mnist import make_cluttered_mnist

_PROGRESS_EVERY = 1000


def write_cluttered_mnist_folder(
    root, *, image_size=60, num_train=20000, num_eval=None, seed=0, num_clutter=None, progress=True
):
    """Writes cluttered MNIST as `<root>/train/<digit>/*.png` and `<root>/val/<digit>/*.png`.

    Args:
        root: output folder (created; existing files of the same names are overwritten).
        image_size: canvas side `S`.
        num_train: number of training images.
        num_eval: number of evaluation images; `None` = one per test digit (1,000).
        seed: the generation seed (`cluttered_mnist_source(seed=...)` makes the same images).
        num_clutter: clutter pieces per image; `None` = the default for `S`.
        progress: print a line every 1,000 files.

    Returns:
        `{"train": number written, "val": number written}`.
    """
    common = dict(image_size=image_size, num_clutter=num_clutter, seed=seed)
    counts = {}
    for split, folder, count in (("train", "train", num_train), ("test", "val", num_eval)):
        images, labels, _ = make_cluttered_mnist(split, num_examples=count, **common)
        for digit in range(10):
            os.makedirs(os.path.join(root, folder, str(digit)), exist_ok=True)
        width = len(str(len(labels) - 1))
        for index, (image, label) in enumerate(zip(images, labels)):
            path = os.path.join(root, folder, str(int(label)), f"{index:0{width}d}.png")
            Image.fromarray(np.ascontiguousarray(image[..., 0]), mode="L").save(path)
            if progress and ((index + 1) % _PROGRESS_EVERY == 0 or index + 1 == len(labels)):
                print(f"\r{folder}: {index + 1}/{len(labels)} images", end="", flush=True)
        if progress:
            print(flush=True)
        counts[folder] = len(labels)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m saccader_tf.data.write_folder",
        description="Write the built-in cluttered MNIST as an image folder (train/ and val/).",
    )
    parser.add_argument("root", help="output folder")
    parser.add_argument("--image_size", type=int, default=60)
    parser.add_argument("--train_examples", type=int, default=20000)
    parser.add_argument(
        "--eval_examples", type=int, default=None, help="default: one per test digit (1,000)"
    )
    parser.add_argument("--num_clutter", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        counts = write_cluttered_mnist_folder(
            args.root,
            image_size=args.image_size,
            num_train=args.train_examples,
            num_eval=args.eval_examples,
            seed=args.seed,
            num_clutter=args.num_clutter,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {counts['train']} training and {counts['val']} evaluation images to {args.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
