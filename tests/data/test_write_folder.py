"""`python -m saccader_tf.data.write_folder`: the built-in data as PNG files, pixel for pixel."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data import make_cluttered_mnist
from saccader_tf.data.write_folder import main


class WriteFolderTest(tf.test.TestCase):
    def test_files_hold_the_built_in_images_and_labels(self):
        root = os.path.join(self.get_temp_dir(), "cm")
        self.assertEqual(
            main(
                [root, "--image_size=30", "--train_examples=25", "--eval_examples=12", "--seed=4"]
            ),
            0,
        )
        for split, folder, count in (("train", "train", 25), ("test", "val", 12)):
            images, labels, _ = make_cluttered_mnist(
                split, image_size=30, num_examples=count, seed=4
            )
            found = 0
            for label in sorted(os.listdir(os.path.join(root, folder))):
                for name in os.listdir(os.path.join(root, folder, label)):
                    index = int(name[: -len(".png")])
                    with Image.open(os.path.join(root, folder, label, name)) as image:
                        self.assertEqual(image.mode, "L")
                        self.assertAllEqual(np.asarray(image), images[index, ..., 0])
                    self.assertEqual(int(label), labels[index])
                    found += 1
            self.assertEqual(found, count)

    def test_bad_arguments_end_in_one_error_line(self):
        self.assertEqual(main([os.path.join(self.get_temp_dir(), "x"), "--image_size=10"]), 2)
