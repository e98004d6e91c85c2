"""The message for TFDS `imagenet2012`, which TFDS cannot download: where the archives go, the
build command and the TFRecord alternative; raised before any network check."""

import os

import tensorflow as tf

from saccader_tf.data.tfds_download import (
    ManualDownloadError,
    explained_download,
    offline_message,
)
from saccader_tf.utils.errors import UserError


def _never_reachable():
    raise AssertionError("the network must not be checked for a manual-download dataset")


class ManualDownloadTest(tf.test.TestCase):
    def test_imagenet2012_without_archives_says_where_to_put_them(self):
        data_dir = self.get_temp_dir()
        with self.assertRaises(ManualDownloadError) as caught:
            with explained_download("imagenet2012", data_dir, reachable=_never_reachable):
                self.fail("the body must not run")
        message = str(caught.exception)
        self.assertIsInstance(caught.exception, UserError)
        self.assertIn("manual-download only", message)
        for archive in ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"):
            self.assertIn(archive, message)
        self.assertIn(os.path.join(data_dir, "downloads", "manual") + "/", message)
        self.assertIn(f"tfds build imagenet2012 --data_dir={data_dir}", message)
        self.assertIn("--dataset=tfrecord:DIR", message)
        self.assertNotIn("\n", message)

    def test_other_datasets_keep_the_download_advice(self):
        message = offline_message("mnist", None)
        self.assertIn("there is no network", message)
        self.assertIn("tfds build mnist --data_dir=DIR", message)
        self.assertIn("manual-download only", offline_message("imagenet2012", None))
