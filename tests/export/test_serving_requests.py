"""The export serves encoded image files (`serve_image_bytes`) like their pixels, and every
signature answers TensorFlow Serving's REST "instances" format (`tests/support/rest_instances.py`).

The pixels of a file are the ones the image-folder source decodes from it for training and
evaluation (`decode_image_file`, which reads the file itself); `tests/data/test_image_bytes.py`
checks the decoding against Pillow.
"""

import io
import json
import os
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data.image_decoding import decode_image_file
from saccader_tf.export.layout import load_signatures
from saccader_tf.export.savedmodel import export_model
from saccader_tf.models.saccader.saccader import Saccader
from tests.support.rest_instances import b64, predict

SIZE = 24
NAMES = ("ant", "bee", "cod", "doe")


def _export(channels, folder):
    model = Saccader(
        num_classes=4,
        image_size=SIZE,
        variant="bagnet9_tiny",
        input_channels=channels,
        num_glimpses=2,
        seed=5,
    )
    mean, std = (0.5,) * channels, (0.25,) * channels
    export_model(model, folder, mean=mean, std=std, top_k=2, max_glimpses=2, class_names=NAMES)
    return load_signatures(folder)


def _encoded(pixels, file_format):
    """The bytes of `pixels` (uint8 `[H, W]` grey or `[H, W, 3]` RGB) as a PNG or JPEG file."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, file_format, quality=95)
    return buffer.getvalue()


def _folder_pixels(path, channels):
    """The image-folder source's pixels of the file `path` (uint8 `[1, H, W, channels]`)."""
    return decode_image_file(tf.constant(path), channels)[tf.newaxis]


class EncodedImagesTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.served = {c: _export(c, os.path.join(cls.tmp.name, f"c{c}")) for c in (1, 3)}
        rng = np.random.default_rng(7)
        # Odd sizes, grey and colour files, PNG and JPEG; smooth pictures so JPEG stays close.
        cls.files = []
        for height, width, colour in ((31, 45, True), (27, 19, False), (53, 37, True)):
            y, x = np.mgrid[0:height, 0:width]
            base = (127 + 120 * np.sin(x / 5.0 + rng.uniform(0, 6)) * np.cos(y / 7.0)).astype(
                np.uint8
            )
            pixels = np.stack([base, base[::-1], 255 - base], -1) if colour else base
            for file_format in ("PNG", "JPEG"):
                data = _encoded(pixels, file_format)
                path = os.path.join(cls.tmp.name, f"{height}x{width}.{file_format.lower()}")
                with open(path, "wb") as f:
                    f.write(data)
                cls.files.append((file_format, path, data))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def test_same_outputs_as_serving_default_on_the_decoded_pixels(self):
        for channels, signatures in self.served.items():
            encoded = signatures["serve_image_bytes"](
                image_bytes=tf.constant([data for _, _, data in self.files])
            )
            for row, (file_format, path, _) in enumerate(self.files):
                with self.subTest(channels=channels, row=row, file_format=file_format):
                    direct = signatures["serving_default"](images=_folder_pixels(path, channels))
                    self.assertAllEqual(encoded["top_k_classes"][row], direct["top_k_classes"][0])
                    self.assertAllEqual(
                        encoded["top_k_class_names"][row], direct["top_k_class_names"][0]
                    )
                    self.assertAllClose(
                        encoded["logits"][row], direct["logits"][0], atol=1e-5, rtol=0
                    )
                    # Boxes in each file's own pixels: the same crop window, whatever the batch.
                    self.assertAllEqual(encoded["glimpse_boxes"][row], direct["glimpse_boxes"][0])

    def test_an_empty_batch_of_files_gives_empty_outputs(self):
        out = self.served[3]["serve_image_bytes"](image_bytes=tf.zeros([0], tf.string))
        self.assertEqual(out["logits"].shape, (0, 4))
        self.assertEqual(out["top_k_class_names"].shape, (0, 2))
        self.assertEqual(out["glimpse_boxes"].shape, (0, 2, 4))

    def test_bytes_that_are_no_image_are_refused(self):
        with self.assertRaises(tf.errors.InvalidArgumentError):
            self.served[3]["serve_image_bytes"](image_bytes=tf.constant([b"not an image"]))


class RestInstancesTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.folder = os.path.join(cls.tmp.name, "rgb")
        cls.signatures = _export(3, cls.folder)
        rng = np.random.default_rng(3)
        cls.images = rng.integers(0, 256, (2, 30, 26, 3)).astype(np.uint8)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def _body(self, name, instances):
        return json.dumps({"signature_name": name, "instances": instances})

    def test_every_signature_takes_rows(self):
        self.assertEqual(
            set(self.signatures),
            {"serving_default", "serve_float", "serve_image_bytes", "serve_glimpses"},
        )
        for name, signature in self.signatures.items():
            for spec in signature.structured_input_signature[1].values():
                self.assertGreaterEqual(spec.shape.rank, 1, msg=name)
                self.assertIsNone(spec.shape[0], msg=name)

    def test_instances_answer_like_the_batched_call(self):
        direct = self.signatures["serving_default"](images=tf.constant(self.images))
        expected = [
            {
                "top_k_classes": direct["top_k_classes"][i].numpy().tolist(),
                "top_k_class_names": [n.decode() for n in direct["top_k_class_names"][i].numpy()],
            }
            for i in range(2)
        ]
        rows = [image.tolist() for image in self.images]
        pngs = [b64(_encoded(image, "PNG")) for image in self.images]
        bodies = {
            "serving_default": rows,
            "serve_float": [image.astype(float).tolist() for image in self.images],
            "serve_image_bytes": pngs,
            "serve_glimpses": [{"images": row, "num_glimpses": 2} for row in rows],
        }
        for name, instances in bodies.items():
            with self.subTest(signature=name):
                answer = predict(self.signatures, self._body(name, instances))["predictions"]
                self.assertLen(answer, 2)
                for row, want in zip(answer, expected):
                    self.assertEqual(row["top_k_classes"], want["top_k_classes"])
                    self.assertEqual(row["top_k_class_names"], want["top_k_class_names"])
                    self.assertLen(row["glimpse_boxes"], 2)

    def test_a_graph_session_loader_serves_every_signature(self):
        # TF Serving and `saved_model_cli run` load the SavedModel without its Python objects,
        # into a graph and a session: every variable must be restored by name.
        feeds = {
            "serving_default": {"images": self.images},
            "serve_float": {"images": self.images.astype(np.float32)},
            "serve_image_bytes": {"image_bytes": [_encoded(i, "PNG") for i in self.images]},
            "serve_glimpses": {"images": self.images, "num_glimpses": np.array([2, 1], np.int32)},
        }
        expected = {
            name: self.signatures[name](**{k: tf.constant(v) for k, v in feed.items()})
            for name, feed in feeds.items()
        }
        with tf.Graph().as_default(), tf.compat.v1.Session() as session:
            meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], self.folder)
            for name, feed in feeds.items():
                signature = meta.signature_def[name]
                fetches = {key: info.name for key, info in signature.outputs.items()}
                got = session.run(
                    fetches, {signature.inputs[k].name: value for k, value in feed.items()}
                )
                with self.subTest(signature=name):
                    self.assertAllClose(got["logits"], expected[name]["logits"], atol=1e-6)
                    self.assertAllEqual(got["glimpse_cells"], expected[name]["glimpse_cells"])

    def test_rows_may_ask_for_different_glimpse_counts(self):
        rows = [
            {"images": self.images[0].tolist(), "num_glimpses": 1},
            {"images": self.images[1].tolist(), "num_glimpses": 2},
        ]
        answer = predict(self.signatures, self._body("serve_glimpses", rows))["predictions"]
        full = self.signatures["serving_default"](images=tf.constant(self.images))
        self.assertEqual(answer[0]["glimpse_cells"][1], -1)
        self.assertEqual(answer[0]["glimpse_cells"][0], full["glimpse_cells"][0, 0].numpy())
        self.assertEqual(answer[1]["glimpse_cells"], full["glimpse_cells"][1].numpy().tolist())
