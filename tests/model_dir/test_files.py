"""`saccader_tf.model_dir.files` on a local disk and on TensorFlow's in-memory `ram://` file system:
what exists (also where ram:// calls every prefix of a name a folder), text round trips, h5py
files through a local temporary copy, a folder copied with one file last, and the one-line
reason a URL cannot be used. The references are the standard library (`os`, `hashlib`) and
`tf.io.gfile` itself."""

import hashlib
import os
import uuid
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.model_dir import files
from saccader_tf.model_dir.progress import StageProgress, save_problem, saves_on_disk
from saccader_tf.utils.urls import is_url, url_scheme
from tests.support.launcher_flags import flag_problem


def _ram(name):
    """A fresh ram:// folder (the file system lives as long as the test process)."""
    return f"ram://files-test-{uuid.uuid4().hex}/{name}"


class UrlTest(tf.test.TestCase):
    def test_schemes(self):
        self.assertEqual(url_scheme("gs://bucket/run"), "gs")
        self.assertEqual(url_scheme("S3://b/x"), "s3")
        self.assertIsNone(url_scheme("runs/a"))
        self.assertIsNone(url_scheme("/abs/gs:/x"))
        self.assertTrue(is_url("ram://x"))
        self.assertFalse(is_url("ram:x"))
        self.assertEqual(files.absolute("ram://x/y"), "ram://x/y")  # no cwd put in front
        self.assertEqual(files.absolute("a"), os.path.join(os.getcwd(), "a"))


class RamFilesTest(tf.test.TestCase):
    def test_a_prefix_of_a_name_does_not_exist(self):
        root = _ram("run")
        files.makedirs(f"{root}/stage1")
        files.write_text(f"{root}/stage1/saccader.weights.h5.sha256", "abc\n")
        self.assertTrue(tf.io.gfile.exists(f"{root}/stage1/saccader.weights.h5"))  # the quirk
        self.assertFalse(files.exists(f"{root}/stage1/saccader.weights.h5"))
        self.assertFalse(files.isdir(f"{root}/stage1/saccader.weights.h5"))
        self.assertTrue(files.isfile(f"{root}/stage1/saccader.weights.h5.sha256"))
        self.assertTrue(files.isdir(f"{root}/stage1"))
        self.assertFalse(files.isfile(f"{root}/stage1"))
        self.assertFalse(files.exists(f"{root}/stage2"))

    def test_text_replace_remove_and_trees(self):
        for root in (_ram("run"), os.path.join(self.get_temp_dir(), "local_run")):
            with self.subTest(root=root):
                files.makedirs(f"{root}/a")
                files.write_text(f"{root}/a/x.partial", "first line\r\nsecond\n")
                files.replace(f"{root}/a/x.partial", f"{root}/a/x.json")
                self.assertEqual(files.listdir(f"{root}/a"), ["x.json"])
                self.assertEqual(files.read_text(f"{root}/a/x.json"), "first line\r\nsecond\n")
                expected = hashlib.sha256(b"first line\r\nsecond\n").hexdigest()
                self.assertEqual(files.sha256(f"{root}/a/x.json"), expected)
                files.remove(f"{root}/a/missing")  # nothing to do
                files.remove(f"{root}/a/x.json")
                self.assertFalse(files.exists(f"{root}/a/x.json"))
                self.assertIsNotNone(files.identity(root))
                files.rmtree(root)
                self.assertFalse(files.exists(root))
                self.assertIsNone(files.identity(root))
                files.rmtree(root)  # nothing to do

    def test_a_rewritten_file_holds_only_the_new_contents(self):
        path = _ram("rewrite/record.json")
        tf.io.gfile.makedirs(os.path.dirname(path))
        with tf.io.gfile.GFile(path, "w") as f:
            f.write("a longer first version")
        files.write_text(path, "second")  # a plain GFile write would append to the file
        self.assertEqual(files.read_text(path), "second")
        with files.written_locally(path) as local:
            with open(local, "w") as f:
                f.write("third")
        self.assertEqual(files.read_text(path), "third")

    def test_a_second_progress_save_at_one_step_keeps_the_save_readable(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        optimizer = keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
        directory = _ram("run/stage1/progress")
        progress = StageProgress(directory, model, optimizer, {"stage": 1})
        progress.start()
        optimizer.iterations.assign(2)
        progress.save()
        progress.save()  # a stop right after the periodic save of that step
        self.assertEqual(saves_on_disk(directory), [f"{directory}/ckpt-2"])
        self.assertIsNone(save_problem(f"{directory}/ckpt-2"))

    def test_weights_files_go_through_a_local_copy(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        path = _ram("w/model.weights.h5")
        files.makedirs(os.path.dirname(path))
        with files.written_locally(path) as local:
            self.assertFalse(is_url(local))
            model.save_weights(local)
            written = local
        self.assertFalse(os.path.exists(written))  # the temporary copy is gone
        other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        with files.local_copy(path) as local:
            other.load_weights(local)
        for mine, theirs in zip(model.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(mine, theirs)
        failing = _ram("w/failed.weights.h5")
        with self.assertRaises(RuntimeError):
            with files.written_locally(failing):
                raise RuntimeError("disk full")
        self.assertFalse(files.exists(failing))  # nothing copied after an error

    def test_a_folder_is_copied_with_one_file_last(self):
        source = os.path.join(self.get_temp_dir(), "saved")
        os.makedirs(os.path.join(source, "variables"))
        for name in ("saved_model.pb", "fingerprint.pb", os.path.join("variables", "v.index")):
            with open(os.path.join(source, name), "w") as f:
                f.write(name)
        target = _ram("export/1")
        copied = []
        real_copy = tf.io.gfile.copy

        def recording_copy(src, dst, overwrite=False):
            copied.append(dst[len(target) + 1 :])
            real_copy(src, dst, overwrite=overwrite)

        with mock.patch.object(tf.io.gfile, "copy", side_effect=recording_copy):
            files.copy_tree(source, target, last="saved_model.pb")
        self.assertEqual(copied[-1], "saved_model.pb")
        self.assertCountEqual(copied, ["saved_model.pb", "fingerprint.pb", "variables/v.index"])
        self.assertEqual(files.read_text(f"{target}/variables/v.index"), "variables/v.index")


class ReachabilityTest(tf.test.TestCase):
    def test_unknown_schemes_and_missing_plugins_are_named(self):
        self.assertIsNone(files.reachability_problem("runs/a"))
        self.assertIsNone(files.reachability_problem(_ram("run")))
        self.assertRegex(
            files.reachability_problem("foo://bucket/run"), r"^TensorFlow knows no file system foo"
        )
        if "s3" not in tf.io.gfile.get_registered_schemes():  # without tensorflow-io
            self.assertIn("pip install tensorflow-io", files.reachability_problem("s3://b/run"))

    def test_the_launcher_refuses_them_in_one_line(self):
        problem = flag_problem(model_dir="foo://bucket/run")
        self.assertRegex(
            problem,
            r"^--model_dir=foo://bucket/run cannot be used: TensorFlow knows no file system "
            r"foo://; use a local path or gs://\. Received: --model_dir=foo://bucket/run$",
        )
        self.assertIsNone(flag_problem(model_dir=_ram("run")))
        path = _ram("a_file")
        files.write_text(path, "x")
        self.assertRegex(flag_problem(model_dir=path), r"is a file, not a directory")
