"""Decoding by slot: the streamed pipeline never calls back into Python, and what it skips is
recorded; formats TensorFlow cannot decode are read with Pillow."""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.image_decoding import ImageFiles
from saccader_tf.data.skipped_files import skipped_while_decoding

_RNG = np.random.default_rng(11)


def _png(path, array):
    Image.fromarray(array).save(path)
    return path


def _ops_of(dataset):
    """Every op type in the dataset's graph, including the bodies of its functions."""
    graph = tf.compat.v1.GraphDef.FromString(dataset._as_serialized_graph().numpy())
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


class StreamedDecodingTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        root = self.create_tempdir().full_path
        self.paths = [
            _png(os.path.join(root, f"{i}.png"), _RNG.integers(0, 256, (5, 7, 3), np.uint8))
            for i in range(4)
        ]
        buffer = io.BytesIO()
        Image.fromarray(_RNG.integers(0, 256, (9, 9, 3), np.uint8)).save(buffer, format="PNG")
        self.truncated = os.path.join(root, "cut.png")
        with open(self.truncated, "wb") as handle:
            handle.write(buffer.getvalue()[:40])
        self.tiff = os.path.join(root, "t.tif")
        self.tiff_pixels = _RNG.integers(0, 256, (6, 4, 3), np.uint8)
        Image.fromarray(self.tiff_pixels).save(self.tiff)

    def test_the_pipeline_holds_no_python_call(self):
        """A `py_function` in a tf.data thread can hang the process at exit after an error."""
        paths = [*self.paths, self.truncated, self.tiff]
        for skip in (False, True):
            for fill in (False, True):
                files = ImageFiles(
                    paths, [0, 1, 0, 1, 0, 1], skip_bad_files=skip, fill_bad_slots=fill
                )
                ops = _ops_of(files.examples(np.arange(len(paths))))
                self.assertIn("DecodeImage", ops)  # the functions' bodies were searched
                self.assertEmpty(ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"})

    def test_a_truncated_file_is_filled_and_recorded(self):
        paths = [*self.paths[:2], self.truncated, *self.paths[2:]]
        files = ImageFiles(paths, [0, 0, 1, 1, 1], skip_bad_files=True)
        images = [(x.numpy(), int(y)) for x, y in files.examples([2, 0])]
        expected = np.asarray(Image.open(self.paths[2]).convert("RGB"))  # the next file
        self.assertAllEqual(images[0][0], expected)
        self.assertEqual(images[0][1], 1)
        self.assertIn(self.truncated, skipped_while_decoding())
        dropped = ImageFiles(paths, [0, 0, 1, 1, 1], skip_bad_files=True, fill_bad_slots=False)
        self.assertLen(list(dropped.examples(range(5))), 4)

    def test_a_truncated_file_stops_the_pipeline_naming_it(self):
        files = ImageFiles([self.paths[0], self.truncated], [0, 1])
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, f"Cannot read image file {self.truncated}: it cannot"
        ):
            list(files.examples([0, 1]))

    def test_tiff_is_decoded_with_pillow_streamed_and_eagerly(self):
        files = ImageFiles([self.paths[0], self.tiff], [0, 1])  # found by extension
        ((image, label),) = list(files.examples([1]))
        self.assertAllEqual(image, self.tiff_pixels)
        self.assertEqual(int(label), 1)
        self.assertAllEqual(files.decode_eagerly(1), self.tiff_pixels)
        gray = ImageFiles([self.tiff], [0], channels=1)
        weights = np.array([0.2989, 0.587, 0.114])  # TensorFlow's rgb_to_grayscale
        expected = np.round(self.tiff_pixels @ weights)[..., None]
        self.assertAllClose(gray.decode_eagerly(0), expected, atol=1)
