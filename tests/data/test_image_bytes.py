"""Tests of `saccader_tf.data.image_bytes.decode_image_bytes`: Pillow's pixels (an independent
decoder) for PNG, BMP and GIF, within a few grey levels for JPEG, and exactly the image-folder
source's pixels (`decode_image_file`) for every format."""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.image_bytes import decode_image_bytes
from saccader_tf.data.image_decoding import decode_image_file


def _file_bytes(image, file_format):
    buffer = io.BytesIO()
    image.save(buffer, file_format)
    return buffer.getvalue()


class DecodeImageBytesTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(11)
        y, x = np.mgrid[0:21, 0:33]
        smooth = (128 + 100 * np.sin(x / 4.0) * np.cos(y / 6.0)).astype(np.uint8)
        self.rgb = np.stack([smooth, smooth.T[:21, :21].repeat(2, 1)[:, :33], 255 - smooth], -1)
        self.grey = rng.integers(0, 256, (17, 9)).astype(np.uint8)

    def test_lossless_formats_give_pillows_pixels(self):
        cases = [
            ("PNG", Image.fromarray(self.rgb)),
            ("PNG", Image.fromarray(self.grey)),
            ("BMP", Image.fromarray(self.rgb)),
            ("GIF", Image.fromarray(self.grey).convert("P")),
        ]
        for file_format, image in cases:
            with self.subTest(file_format=file_format, mode=image.mode):
                data = _file_bytes(image, file_format)
                with Image.open(io.BytesIO(data)) as reread:
                    expected = np.asarray(reread.convert("RGB"))
                self.assertAllEqual(decode_image_bytes(tf.constant(data), 3), expected)

    def test_grey_of_a_colour_file_is_the_luma(self):
        data = _file_bytes(Image.fromarray(self.rgb), "PNG")
        grey = decode_image_bytes(tf.constant(data), 1).numpy()[..., 0].astype(float)
        luma = self.rgb.astype(float) @ np.array([0.2989, 0.5870, 0.1140])
        self.assertEqual(grey.shape, (21, 33))
        self.assertLessEqual(np.max(np.abs(grey - luma)), 1.0)

    def test_jpeg_is_close_to_pillows_pixels(self):
        data = _file_bytes(Image.fromarray(self.rgb), "JPEG")
        with Image.open(io.BytesIO(data)) as reread:
            expected = np.asarray(reread.convert("RGB")).astype(int)
        decoded = decode_image_bytes(tf.constant(data), 3).numpy().astype(int)
        self.assertLessEqual(np.max(np.abs(decoded - expected)), 3)

    def test_same_pixels_as_the_folder_source(self):
        folder = self.get_temp_dir()
        for file_format, image in (
            ("PNG", Image.fromarray(self.grey)),
            ("JPEG", Image.fromarray(self.rgb)),
            ("BMP", Image.fromarray(self.rgb)),
        ):
            path = os.path.join(folder, f"image.{file_format.lower()}")
            image.save(path, file_format)
            with open(path, "rb") as f:
                data = f.read()
            for channels in (1, 3):
                with self.subTest(file_format=file_format, channels=channels):
                    self.assertAllEqual(
                        decode_image_bytes(tf.constant(data), channels),
                        decode_image_file(tf.constant(path), channels),
                    )

    def test_other_channel_counts_are_refused(self):
        with self.assertRaisesRegex(ValueError, "channels=4"):
            decode_image_bytes(tf.constant(b""), 4)
