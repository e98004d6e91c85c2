"""`DataSettings`: the data settings of a run (the first fields of `RunSettings`).

Declared like every run setting (`saccader_tf.run.setting_field.setting`): each field is also the
launcher flag of the same name; `RunSettings` adds the model, schedule and output settings.
"""

import dataclasses
from typing import Optional

from saccader_tf.data.cluttered_mnist import DEFAULT_NUM_TEST
from saccader_tf.run.setting_field import setting


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """Where the images come from and how they are prepared (see `RunSettings`)."""

    dataset: str = setting(
        "cluttered_mnist",
        "string",
        "'cluttered_mnist' (offline default), 'folder:<path>' (an image folder "
        "<path>/train/<class>/*), 'tfrecord:<path>' (ImageNet-style TFRecord shards <path>/train-* "
        "and <path>/validation-*, or a glob), or a TFDS dataset name.",
    )
    data_dir: Optional[str] = setting(None, "string", "TFDS data directory.")
    num_clutter: Optional[int] = setting(
        None,
        "integer",
        "cluttered_mnist: clutter pieces per image (default 4 at 60 px, 8 at 100 px).",
    )
    train_examples: Optional[int] = setting(
        20000, "integer", "cluttered_mnist: number of training images generated."
    )
    test_examples: int = setting(
        DEFAULT_NUM_TEST,
        "integer",
        "cluttered_mnist: number of test images generated, all from the 1,000 held-out digits "
        "(each digit used equally often, at new positions with new clutter); enough images that "
        "the policy comparison can tell policies apart.",
    )
    skip_bad_files: bool = setting(
        False,
        "boolean",
        "Image folders and TFRecord shards: leave out unreadable image files (records) with a "
        "counted warning instead of stopping with an error naming the file. Not for TFDS "
        "datasets: TFDS decodes their images inside its own pipeline, where a bad image cannot "
        "be skipped.",
    )
    augment: Optional[str] = setting(
        None,
        "enum",
        "Preprocessing recipe of image folders and TFDS datasets: light (default: small random "
        "shifts, no scale change, no flips; evaluation resizes), imagenet (Inception random crops "
        "and flips; evaluation centre-crops 0.875: for natural photos at ImageNet scale), none "
        "(resize only) or imagenet_tf1 (reproduction switch, the official TF1 code's: as imagenet "
        "with bicubic resizing, 100 crop attempts and the centre crop S/(S+S//10), 224/246 at "
        "224). The built-in cluttered_mnist is used as generated.",
        choices=["imagenet", "light", "none", "imagenet_tf1"],
    )
    flip: Optional[bool] = setting(
        None,
        "boolean",
        "Random horizontal flips in training (default: on for --augment=imagenet and imagenet_tf1 "
        "only; a flip changes the class of digits and text).",
    )
    channels: str = setting(
        "auto",
        "enum",
        "Image channels of folder and TFDS data: auto = for a folder 1 when the sampled training "
        "images are all grayscale, else 3; for TFDS the dataset's own. 1 or 3 converts.",
        choices=["auto", "1", "3"],
    )
    cache: str = setting(
        "auto",
        "enum",
        "Image folders: keep the decoded images in memory (decoded once) or decode them every "
        "epoch (stream); auto = memory when they fit --cache_budget_mb.",
        choices=["auto", "memory", "stream"],
    )
    cache_budget_mb: int = setting(1024, "integer", "Memory budget of --cache=auto, in MiB.")
    # TFRecord shards (--dataset=tfrecord:DIR).
    label_offset: int = setting(
        0,
        "integer",
        "TFRecord shards: the stored label of the first class, subtracted from every label "
        "(1 for the 1-based labels of the classic ImageNet conversion; default 0).",
    )
    # tf.data service (docs/distributed.md, "tf.data service").
    data_service: str = setting(
        "",
        "string",
        "grpc://HOST:PORT of a tf.data service dispatcher: the training batches are made on its "
        "workers instead of in this process (evaluation stays local). Empty (default): local.",
    )
    data_service_sharding: str = setting(
        "off",
        "enum",
        "How --data_service splits the training input among its workers: off = every worker "
        "makes every batch (run ONE worker: the local batches in the local order, exact resume); "
        "dynamic = the workers share out each epoch's examples (any number of workers; other "
        "batches and order than local, also after a resume).",
        choices=["off", "dynamic"],
    )
