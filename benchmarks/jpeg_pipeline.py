"""The JPEG/TFRecord training input at ImageNet-like sizes: images/s per core, against decoding.

Synthetic photographs (a smooth random colour field with fine noise, about 400x350 px as in
ImageNet, JPEG quality 90 with 4:2:0 chroma, tens of KB each) are written as an image folder and
then as TFRecord shards with `saccader_tf.data.write_tfrecords`. On those shards, with the same
`tf.data` thread pool (`threads` threads, one op thread each), the benchmark times:

- decoding alone: read the records, parse them and `tf.io.decode_jpeg` every whole image
  (`map` with autotuned parallelism), nothing more;
- the training pipeline: `tfrecord_source(..., augment="imagenet")`'s training epochs as training
  reads them (shard interleave, shuffle of the encoded records, the Inception crop decoding only
  the crop window, resize to `image_size`, flip, normalise, batch).

Each is timed over whole epochs (the shuffle buffer's refill at each epoch start included), the
two take turns for `rounds` rounds and the fastest epoch of each is kept. The rate per core is
images per CPU-second of the whole process (`time.process_time`, every thread), so other jobs on
the same cores slow the wall clock but not this figure much; the wall-clock rate is kept too. The
ratio pipeline / decoding says how much the rest of the pipeline costs on top of the decoder (the
crop decodes less than the whole image, so it could exceed 1).
"""

import dataclasses
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from saccader_tf.data.tfrecord_features import ENCODED, READ_FEATURES
from saccader_tf.data.tfrecord_source import tfrecord_source
from saccader_tf.data.write_tfrecords import write_tfrecord_shards

CLASSES = 4
SHARDS = 4


@dataclasses.dataclass(frozen=True)
class JpegSetup:
    """What `time_jpeg_pipeline` writes and reads.

    Attributes:
        examples: training JPEGs written (and read per epoch).
        height, width: mean image size in pixels (each image varies by up to ±15 %).
        image_size: the pipeline's output side.
        batch_size: images per batch of the pipeline.
        rounds: timed epochs of each kind (the fastest is kept).
        threads: the `tf.data` thread pool of both (1 = per core).
    """

    examples: int
    height: int
    width: int
    image_size: int
    batch_size: int
    rounds: int
    threads: int = 1

    @property
    def label(self):
        return f"{self.examples} JPEGs ~{self.width}×{self.height} px"


@dataclasses.dataclass(frozen=True)
class JpegTimings:
    """Images per CPU-second (per core) and per wall-clock second of decoding alone and of the
    training pipeline, and the mean JPEG size in bytes."""

    decode: float
    pipeline: float
    decode_wall: float
    pipeline_wall: float
    mean_bytes: float

    @property
    def ratio(self):
        """Pipeline / decoding alone, per core."""
        return self.pipeline / self.decode


def natural_image(rng, height, width):
    """A photograph-like uint8 `[height, width, 3]`: a smooth colour field, edges and noise."""
    coarse = rng.normal(size=(1, height // 24 + 2, width // 24 + 2, 3)).astype("float32")
    field = tf.image.resize(coarse, (height, width), method="bicubic")[0].numpy()
    field = 128 + 45 * field + rng.normal(scale=10.0, size=(height, width, 3))
    return np.clip(field, 0, 255).astype("uint8")


def write_jpeg_shards(root, setup, seed=0):
    """Writes `setup.examples` training JPEGs (and `CLASSES` evaluation ones) under `root` as a
    folder, then as TFRecord shards in `root/shards`; returns `(shards folder, mean bytes)`."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "images")
    sizes = []
    for split, count in (("train", setup.examples), ("val", CLASSES)):
        for index in range(count):
            directory = os.path.join(folder, split, f"class{index % CLASSES}")
            os.makedirs(directory, exist_ok=True)
            h, w = (int(s * rng.uniform(0.85, 1.15)) for s in (setup.height, setup.width))
            encoded = tf.io.encode_jpeg(natural_image(rng, h, w), quality=90).numpy()
            with open(os.path.join(directory, f"{index:05d}.jpg"), "wb") as f:
                f.write(encoded)
            sizes.append(len(encoded))
    shards = os.path.join(root, "shards")
    write_tfrecord_shards(folder, shards, shards=SHARDS, eval_shards=1, progress=False)
    return shards, float(np.mean(sizes))


def time_jpeg_pipeline(setup, progress=None):
    """Times decoding alone and the training pipeline on the same shards (module docstring).

    Args:
        setup: a `JpegSetup`.
        progress: optional callable taking a message.

    Returns:
        A `JpegTimings`.
    """
    say = progress or (lambda message: None)
    with tempfile.TemporaryDirectory() as root:
        say(f"jpeg: writing {setup.label} as {SHARDS} TFRecord shards")
        shards, mean_bytes = write_jpeg_shards(root, setup)
        files = sorted(tf.io.gfile.glob(os.path.join(shards, "train-*")))
        source = tfrecord_source(
            shards, image_size=setup.image_size, batch_size=setup.batch_size, augment="imagenet"
        )
        options = _thread_options(setup.threads)
        kinds = {
            "decode": lambda epoch: _decode_only(files).with_options(options),
            "pipeline": lambda epoch: source.train_epoch(epoch).with_options(options),
        }
        best = {}
        for round_index in range(setup.rounds + 1):  # round 0 warms up (traces, page cache)
            for name, make in kinds.items():
                say(f"jpeg: epoch {round_index}/{setup.rounds}, {name}")
                rates = _images_per_second(make(round_index))
                if round_index:
                    best[name] = max(best.get(name, (0.0, 0.0)), rates)
    (decode, decode_wall), (pipeline, pipeline_wall) = best["decode"], best["pipeline"]
    return JpegTimings(decode, pipeline, decode_wall, pipeline_wall, mean_bytes)


def _decode_only(files):
    """`(shape, first pixel)` of every record's decoded JPEG, read in shard order."""

    def decode(record):
        encoded = tf.io.parse_single_example(record, {ENCODED: READ_FEATURES[ENCODED]})[ENCODED]
        image = tf.io.decode_jpeg(encoded, channels=3)
        return tf.shape(image), image[0, 0]  # both need the whole decode

    return tf.data.TFRecordDataset(files).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def _thread_options(threads):
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    options.threading.max_intra_op_parallelism = 1
    return options


def _images_per_second(dataset):
    """`(images per CPU-second, images per second)` of one pass over `dataset` (elements: a batch
    of images `[B, S, S, C]` first, or one image's shape `[3]` first)."""
    images = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for element in dataset:
        first = element[0]
        images += int(first.shape[0]) if first.shape.rank == 4 else 1
    return images / (time.process_time() - cpu), images / (time.perf_counter() - wall)
