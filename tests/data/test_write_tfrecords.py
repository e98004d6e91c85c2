"""`write_tfrecords`: shard names and sizes, the original bytes, labels with the offset, class
names; refusals; the command line."""

import os

import numpy as np
import tensorflow as tf

from saccader_tf.data.write_tfrecords import main, write_tfrecord_shards
from saccader_tf.utils.errors import BadValueError
from tests.support.tfrecord_fixture import CLASSES, write_mixed_folder

SPEC = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    "image/class/text": tf.io.FixedLenFeature([], tf.string),
    "image/filename": tf.io.FixedLenFeature([], tf.string),
}


def _read(path):
    return [
        {k: v.numpy() for k, v in tf.io.parse_single_example(r, SPEC).items()}
        for r in tf.data.TFRecordDataset(path)
    ]


class WriteTfrecordsTest(tf.test.TestCase):
    def test_shards_hold_the_files_bytes_labels_and_class_names(self):
        folder = os.path.join(self.get_temp_dir(), "images")
        written = write_mixed_folder(folder, train=10, val=4)
        out = os.path.join(self.get_temp_dir(), "shards")
        counts = write_tfrecord_shards(folder, out, shards=3, label_offset=1, progress=False)
        self.assertEqual(counts, {"train": 10, "validation": 4})
        self.assertEqual(
            sorted(os.listdir(out)),
            [f"train-0000{i}-of-00003" for i in range(3)]
            + [f"validation-0000{i}-of-00003" for i in range(3)],
        )
        # 10 images over 3 shards: linspace(0, 10, 4) -> 3, 3, 4.
        sizes = [len(_read(os.path.join(out, f"train-0000{i}-of-00003"))) for i in range(3)]
        self.assertEqual(sizes, [3, 3, 4])
        for split, prefix in (("train", "train"), ("val", "validation")):
            names = [name for name in sorted(os.listdir(out)) if name.startswith(prefix)]
            records = [r for name in names for r in _read(os.path.join(out, name))]
            by_name = {r["image/filename"].decode(): r for r in records}
            self.assertEqual(len(by_name), len(written[split]))
            for path, label in written[split]:
                record = by_name[os.path.relpath(path, folder)]
                with open(path, "rb") as handle:
                    self.assertEqual(record["image/encoded"], handle.read())  # not re-encoded
                self.assertEqual(record["image/class/label"], label + 1)
                self.assertEqual(record["image/class/text"].decode(), CLASSES[label])

    def test_refuses_existing_shards_and_bad_counts(self):
        folder = os.path.join(self.get_temp_dir(), "images")
        write_mixed_folder(folder, train=6, val=3)
        out = os.path.join(self.get_temp_dir(), "shards")
        write_tfrecord_shards(folder, out, shards=2, progress=False)
        with self.assertRaisesRegex(BadValueError, "already holds shards"):
            write_tfrecord_shards(folder, out, shards=2, progress=False)
        with self.assertRaisesRegex(BadValueError, "shards"):
            write_tfrecord_shards(folder, out + "2", shards=0, progress=False)

    def test_command_line_prints_progress_and_one_line_errors(self):
        folder = os.path.join(self.get_temp_dir(), "images")
        write_mixed_folder(folder, train=6, val=3)
        out = os.path.join(self.get_temp_dir(), "cli_shards")
        self.assertEqual(main([folder, out, "--shards=2", "--validation_shards=1"]), 0)
        self.assertEqual(len([n for n in os.listdir(out) if n.startswith("validation-")]), 1)
        self.assertEqual(main([os.path.join(folder, "missing"), out + "x"]), 2)
        self.assertEqual(main([folder, out]), 2)  # shards already there
        self.assertFalse(np.any([n.startswith("train-") for n in os.listdir(folder)]))
