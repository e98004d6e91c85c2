"""`python -m saccader_tf.data.write_tfrecords FOLDER OUT`: an image folder as ImageNet-style
TFRecord shards.

Reads `FOLDER/train/<class>/*` and `FOLDER/val/<class>/*` (or `validation/`, `test/`) as
`--dataset=folder:FOLDER` lists them (`list_image_folder`, which checks every file's signature)
and writes `OUT/train-00000-of-0000N` ... and `OUT/validation-00000-of-0000M` ... with the features
of `saccader_tf.data.tfrecord_features`: the original file bytes (not re-encoded), the class index
plus `--label_offset` as `image/class/label`, the class folder name as `image/class/text`. Training
images are spread over the shards in a seeded random order (so each shard holds every class);
evaluation images keep the listing order. Then `--dataset=tfrecord:OUT` reads them:

    python -m saccader_tf.data.write_tfrecords data/flowers data/flowers_shards --shards=8
    python -m saccader_tf.launch --dataset=tfrecord:data/flowers_shards --model_dir=runs/shards
"""

import argparse
import os
import sys

import numpy as np
import tensorflow as tf

from saccader_tf.data.image_file_check import display_path
from saccader_tf.data.image_folder_listing import list_image_folder
from saccader_tf.data.tfrecord_features import EVAL_PREFIX, TRAIN_PREFIX, make_example, shard_name
from saccader_tf.utils.errors import BadValueError, UserError

_FORMATS = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP"}


def write_tfrecord_shards(
    folder, out, *, shards=4, eval_shards=None, label_offset=0, seed=0, progress=True
):
    """Writes the images of `folder` as TFRecord shards in `out` (see the module docstring).

    Args:
        folder: the image folder (`train/` and `val/`, `validation/` or `test/`).
        out: output folder (created; may be a `gs://` or other `tf.io.gfile` path). It must not
            hold shards already.
        shards: number of training shards (at most the number of training images).
        eval_shards: number of evaluation shards; `None` = `shards` (at most the images).
        label_offset: stored label of the first class (1 for the classic ImageNet layout).
        seed: seed of the training images' order.
        progress: print one line per shard written.

    Returns:
        `{"train": images written, "validation": images written}`.
    """
    for name, value in (("shards", shards), ("label_offset", label_offset)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValueError(f"`{name}` must be an int. Received: {name}={value!r}")
    if shards < 1 or (eval_shards is not None and eval_shards < 1) or label_offset < 0:
        raise BadValueError(
            "`shards` and `eval_shards` must be >= 1 and `label_offset` >= 0. "
            f"Received: shards={shards}, eval_shards={eval_shards}, label_offset={label_offset}"
        )
    listing = list_image_folder(folder)
    _check_out(out)
    order = np.random.default_rng(seed).permutation(len(listing.train_paths))
    train_paths = [listing.train_paths[i] for i in order]
    train_labels = [listing.train_labels[i] for i in order]
    splits = (
        (TRAIN_PREFIX, train_paths, train_labels, shards),
        (EVAL_PREFIX, listing.eval_paths, listing.eval_labels, eval_shards or shards),
    )
    counts = {}
    for prefix, paths, labels, count in splits:
        examples = (
            (path, label + label_offset, listing.class_names[label])
            for path, label in zip(paths, labels)
        )
        _write_split(out, prefix, list(examples), min(count, len(paths)), folder, progress)
        counts[prefix.rstrip("-")] = len(paths)
    return counts


def _check_out(out):
    if tf.io.gfile.exists(out) and not tf.io.gfile.isdir(out):
        raise BadValueError(f"{out} is a file; pass a folder for the shards. Received: out={out!r}")
    if tf.io.gfile.isdir(out):
        existing = [
            name
            for name in tf.io.gfile.listdir(out)
            if name.startswith((TRAIN_PREFIX, EVAL_PREFIX))
        ]
        if existing:
            raise BadValueError(
                f"{out} already holds shards ({sorted(existing)[0]}, ...): remove them or choose "
                f"an empty folder, so old and new shards are not mixed. Received: out={out!r}"
            )
    tf.io.gfile.makedirs(out)


def _write_split(out, prefix, examples, num_shards, folder, progress):
    """Writes `examples` (`(path, stored label, class name)`) into `num_shards` shards, the images
    split into consecutive, nearly equal runs."""
    bounds = np.linspace(0, len(examples), num_shards + 1).astype(int)
    written = 0
    for index in range(num_shards):
        name = shard_name(prefix, index, num_shards)
        with tf.io.TFRecordWriter(os.path.join(out, name)) as writer:
            for path, label, text in examples[bounds[index] : bounds[index + 1]]:
                with open(path, "rb") as handle:
                    encoded = handle.read()
                relative = os.path.relpath(os.fsdecode(path), os.fspath(folder))
                writer.write(make_example(encoded, label, text, _format(encoded), relative))
        size = int(bounds[index + 1] - bounds[index])
        written += size
        if progress:
            print(f"{name}: {size} images ({written}/{len(examples)})", flush=True)


def _format(encoded):
    for magic, name in _FORMATS.items():
        if encoded.startswith(magic):
            return name
    return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m saccader_tf.data.write_tfrecords",
        description="Write an image folder (train/ and val/) as ImageNet-style TFRecord shards.",
    )
    parser.add_argument("folder", help="image folder holding train/<class>/ and val/<class>/")
    parser.add_argument("out", help="output folder for train-* and validation-* shards")
    parser.add_argument("--shards", type=int, default=4, help="training shards (default 4)")
    parser.add_argument(
        "--validation_shards", type=int, default=None, help="evaluation shards (default --shards)"
    )
    parser.add_argument(
        "--label_offset", type=int, default=0, help="stored label of the first class (default 0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the training image order")
    args = parser.parse_args(argv)
    try:
        counts = write_tfrecord_shards(
            args.folder,
            args.out,
            shards=args.shards,
            eval_shards=args.validation_shards,
            label_offset=args.label_offset,
            seed=args.seed,
        )
    except (UserError, OSError, tf.errors.OpError) as error:
        message = getattr(error, "message", None) or str(error)
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(
        f"wrote {counts['train']} training and {counts['validation']} evaluation images to "
        f"{display_path(args.out)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
