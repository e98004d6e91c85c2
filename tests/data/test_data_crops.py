"""The Inception crop of encoded bytes (JPEG: only the window is decoded) against the crop of the
fully decoded image.

The references are independent of the windowed decode: TensorFlow's full decode of the same bytes
(`tf.io.decode_image`), cut with NumPy slicing at the window sampled for the decoded image's shape.
The pixels are compared exactly (tolerance 0): JPEG decoding is deterministic, a window decode runs
the same inverse DCT on the same blocks, and the one place where a plain window decode differs
(libjpeg's chroma upsampling at the window's first and last column, for 4:2:0 and 4:2:2 images) is
removed by decoding one extra column on each side, so any difference is a bug.
"""

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.crops import random_crop_encoded, random_crop_window
from saccader_tf.data.encoded_images import decode_encoded, is_jpeg
from saccader_tf.data.preprocessing import Recipe

SIZES = ((200, 150), (97, 131), (64, 81), (33, 17))
# PIL's JPEG options: chroma subsampling 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0.
JPEG_KINDS = (
    ("RGB", dict(subsampling=0)),
    ("RGB", dict(subsampling=1)),
    ("RGB", dict(subsampling=2)),
    ("RGB", dict(subsampling=2, progressive=True)),
    ("L", {}),
)


def _encoded(height, width, mode, fmt="JPEG", seed=0, **options):
    """Noise (the hardest case for chroma upsampling) encoded by Pillow."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, fmt, **options)
    return tf.constant(buffer.getvalue())


class JpegWindowTest(tf.test.TestCase):
    def test_window_of_jpeg_header_equals_window_of_decoded_image(self):
        for mode, options in JPEG_KINDS:
            for height, width in SIZES:
                encoded = _encoded(height, width, mode, quality=90, **options)
                decoded = decode_encoded(encoded, 3)
                for s in range(12):
                    seed = tf.constant([s, 11])
                    from_header = random_crop_window(tf.image.extract_jpeg_shape(encoded), seed)
                    from_pixels = random_crop_window(tf.shape(decoded), seed)
                    self.assertAllEqual(from_header, from_pixels)
                    top, left, h, w = (int(v) for v in from_pixels)
                    # Inside the image, area >= 8 % (or the 0.875 centre crop), aspect in range.
                    self.assertTrue(0 <= top and top + h <= height and 0 <= left)
                    self.assertLessEqual(left + w, width)
                    self.assertGreaterEqual(h * w, 0.08 * height * width - (h + w))

    def test_window_decode_equals_full_decode_cut_exactly(self):
        for mode, options in JPEG_KINDS:
            for height, width in SIZES:
                encoded = _encoded(height, width, mode, seed=height, quality=90, **options)
                for channels in (1, 3):
                    full = decode_encoded(encoded, channels).numpy()
                    for s in range(12):
                        seed = tf.constant([s, 5])
                        top, left, h, w = (int(v) for v in random_crop_window(full.shape, seed))
                        crop = random_crop_encoded(encoded, seed, channels=channels).numpy()
                        self.assertAllEqual(
                            crop,
                            full[top : top + h, left : left + w],
                            msg=f"{mode} {options} {height}x{width} channels={channels} seed={s}",
                        )

    def test_png_takes_the_full_decode(self):
        encoded = _encoded(40, 52, "RGB", fmt="PNG")
        self.assertFalse(bool(is_jpeg(encoded)))
        self.assertTrue(bool(is_jpeg(_encoded(8, 8, "RGB"))))
        full = np.asarray(Image.open(io.BytesIO(encoded.numpy())).convert("RGB"))
        seed = tf.constant([3, 4])
        top, left, h, w = (int(v) for v in random_crop_window(full.shape, seed))
        self.assertAllEqual(
            random_crop_encoded(encoded, seed, channels=3), full[top : top + h, left : left + w]
        )


class TrainEncodedTest(tf.test.TestCase):
    def test_recipes_give_the_inputs_of_the_decoded_image(self):
        unit = dict(image_size=24, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
        images = [
            _encoded(70, 90, "RGB", quality=85, subsampling=2),
            _encoded(50, 45, "RGB", fmt="PNG", seed=1),
        ]
        for name in ("imagenet", "imagenet_tf1", "light", "none"):
            recipe = Recipe(name)
            for encoded in images:
                for s in range(5):
                    seed = tf.constant([s, 9])
                    expected = recipe.train(decode_encoded(encoded, 3), seed, **unit)
                    got = recipe.train_encoded(encoded, seed, channels=3, **unit)
                    self.assertAllEqual(got, expected, msg=f"{name} seed={s}")
