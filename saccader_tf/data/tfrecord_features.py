"""The features of the common ImageNet TFRecord shard layout, shared by the reader
(`saccader_tf.data.tfrecord_source`) and the writer (`saccader_tf.data.write_tfrecords`).

A shard is a TFRecord file of serialised `tf.train.Example`s named `train-00000-of-01024`,
`validation-00000-of-00128`, ...; each example holds

- `image/encoded`: the image file's bytes (JPEG, PNG, BMP or GIF), required;
- `image/class/label`: int64, the class, required (1-based in the classic ImageNet conversion,
  hence `label_offset`);
- `image/class/text`: the class name, optional (the run's class names when present);
- `image/format`, `image/filename`: written by the writer, not read.
"""

import tensorflow as tf

TRAIN_PREFIX = "train-"
EVAL_PREFIX = "validation-"
ENCODED = "image/encoded"
LABEL = "image/class/label"
TEXT = "image/class/text"
FORMAT = "image/format"
FILENAME = "image/filename"

READ_FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    TEXT: tf.io.FixedLenFeature([], tf.string, default_value=""),
}
"""What the reader parses of each record (a missing text is `""`)."""


def shard_name(prefix, index, count):
    """`train-00003-of-00016` for `prefix="train-"`, shard 3 of 16."""
    return f"{prefix}{index:05d}-of-{count:05d}"


def make_example(encoded, label, text, image_format, filename):
    """One serialised `tf.train.Example` with the layout's features.

    Args:
        encoded: the image file's bytes.
        label: int, the stored label.
        text: str, the class name.
        image_format: str such as `"JPEG"` or `"PNG"`.
        filename: str, the image's path relative to its class folder's split.

    Returns:
        bytes.
    """

    def strings(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {
        ENCODED: strings(encoded),
        LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        TEXT: strings(text.encode("utf-8")),
        FORMAT: strings(image_format.encode("utf-8")),
        FILENAME: strings(filename.encode("utf-8", errors="surrogateescape")),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString()
