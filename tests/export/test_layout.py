"""Tests of `saccader_tf.export.layout`: version folders and the atomic write of a SavedModel."""

import os

import tensorflow as tf

from saccader_tf.export import layout
from saccader_tf.utils.errors import UserError


def _write_tiny_saved_model(folder, value=1.0):
    """A SavedModel of one variable and one signature, written by `tf.saved_model.save`."""
    root = tf.Module()
    root.weight = tf.Variable(value)
    root.serve = tf.function(
        lambda x: {"y": x * root.weight}, input_signature=[tf.TensorSpec([None], tf.float32)]
    ).get_concrete_function()
    tf.saved_model.save(root, folder, signatures={"serving_default": root.serve})


def _files(folder):
    return sorted(
        os.path.relpath(os.path.join(d, f), folder)
        for d, _, files in os.walk(folder)
        for f in files
    )


class VersionFolderTest(tf.test.TestCase):
    def test_versions_count_up_and_the_highest_is_found(self):
        root = os.path.join(self.get_temp_dir(), "export")
        self.assertEqual(layout.new_version_dir(root), os.path.join(root, "1"))
        for expected in ("1", "2"):
            folder = layout.new_version_dir(root)
            self.assertEqual(folder, os.path.join(root, expected))
            layout.write_atomically(folder, _write_tiny_saved_model)
        os.makedirs(os.path.join(root, "7"))  # an empty numbered folder still takes its number
        os.makedirs(os.path.join(root, "notes"))
        self.assertEqual(layout.new_version_dir(root), os.path.join(root, "8"))
        self.assertEqual(
            layout.export_versions(root),
            [(1, os.path.join(root, "1")), (2, os.path.join(root, "2"))],
        )
        self.assertEqual(layout.find_export(root), os.path.join(root, "2"))
        self.assertAllEqual(
            layout.load_signatures(root)["serving_default"](tf.constant([2.0]))["y"], [2.0]
        )

    def test_the_layout_without_version_folders_is_still_read(self):
        root = os.path.join(self.get_temp_dir(), "old_export")
        _write_tiny_saved_model(root, value=3.0)
        self.assertEqual(layout.find_export(root), root)
        self.assertAllEqual(
            layout.load_signatures(root)["serving_default"](tf.constant([2.0]))["y"], [6.0]
        )
        # A version folder written beside the old files is what a server (and find_export) serves.
        layout.write_atomically(layout.new_version_dir(root), _write_tiny_saved_model)
        self.assertEqual(layout.find_export(root), os.path.join(root, "1"))

    def test_missing_export_is_one_user_error(self):
        root = os.path.join(self.get_temp_dir(), "nothing")
        with self.assertRaisesRegex(UserError, r"No SavedModel in .*nothing.*--stage=export"):
            layout.find_export(root)


class AtomicWriteTest(tf.test.TestCase):
    def test_a_failed_write_leaves_nothing_and_keeps_the_old_model(self):
        parent = self.get_temp_dir()
        target = os.path.join(parent, "model")

        def fail(folder):
            _write_tiny_saved_model(folder)
            raise RuntimeError("disk full")

        with self.assertRaisesRegex(RuntimeError, "disk full"):
            layout.write_atomically(target, fail)
        self.assertFalse(os.path.exists(target))
        self.assertEqual([e for e in os.listdir(parent) if "model" in e], [])

        layout.write_atomically(target, lambda f: _write_tiny_saved_model(f, value=5.0))
        before = _files(target)
        with self.assertRaisesRegex(RuntimeError, "disk full"):
            layout.write_atomically(target, fail)
        self.assertEqual(_files(target), before)
        self.assertAllEqual(
            layout.load_signatures(target)["serving_default"](tf.constant([1.0]))["y"], [5.0]
        )

    def test_rewrite_replaces_the_model_and_leaves_no_temporary_file(self):
        parent = self.get_temp_dir()
        target = os.path.join(parent, "again")
        layout.write_atomically(target, _write_tiny_saved_model)
        stale = os.path.join(parent, ".again.partial-999999")  # left by a killed export
        os.makedirs(stale)

        def write_with_leftover(folder):
            _write_tiny_saved_model(folder, value=4.0)
            open(os.path.join(folder, "saved_model.pb.tmp1234abcd"), "wb").close()

        layout.write_atomically(target, write_with_leftover)
        self.assertFalse(os.path.exists(stale))
        self.assertEqual([f for f in _files(target) if ".tmp" in f], [])
        self.assertEqual([e for e in os.listdir(parent) if e.startswith(".again")], [])
        self.assertAllEqual(
            layout.load_signatures(target)["serving_default"](tf.constant([1.0]))["y"], [4.0]
        )

    def test_a_folder_that_is_no_saved_model_is_not_replaced(self):
        target = os.path.join(self.get_temp_dir(), "mine")
        os.makedirs(target)
        with open(os.path.join(target, "notes.txt"), "w") as f:
            f.write("keep me")
        with self.assertRaisesRegex(UserError, "not a SavedModel folder"):
            layout.write_atomically(target, _write_tiny_saved_model)
        self.assertEqual(os.listdir(target), ["notes.txt"])
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        layout.write_atomically(empty, _write_tiny_saved_model)
        self.assertEqual(layout.find_export(empty), empty)
