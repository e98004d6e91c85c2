"""Listing an image folder as users have them: named pipes, symbolic links that repeat files,
hidden and stray files, one class, Unicode class names, and the formats only Pillow decodes."""

import logging
import os
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from saccader_tf.data import DecodedCache, ImageFiles, list_image_folder
from tests.support.paths import REPO_ROOT

_RNG = np.random.default_rng(5)


def _save(path, array, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def _rgb(height=12, width=10):
    return _RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _folder(root, classes=("a", "b"), train=3, val=1):
    for split, count in (("train", train), ("val", val)):
        for name in classes:
            for i in range(count):
                _save(f"{root}/{split}/{name}/{i}.png", _rgb())
    return root


LIST_SCRIPT = """
import sys
from saccader_tf.data import list_image_folder
listing = list_image_folder(sys.argv[1], skip_bad_files=sys.argv[2] == "1")
print("TRAIN", len(listing.train_paths))
"""


@pytest.mark.slow  # lists in a subprocess, so a blocked open() becomes a failure
class NamedPipeTest(tf.test.TestCase):
    def test_a_fifo_is_named_and_never_opened(self):
        root = _folder(self.create_tempdir().full_path)
        os.mkfifo(f"{root}/train/a/pipe.png")  # open() on it would block forever
        for skip in ("0", "1"):
            result = subprocess.run(
                [sys.executable, "-c", LIST_SCRIPT, root, skip],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO_ROOT,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            self.assertIn("TRAIN 6", result.stdout)
            self.assertRegex(
                result.stderr,
                r"Skipped 1 item\(s\) of \S+/train that are not regular files.*"
                r"never opened\): \S+/train/a/pipe\.png\.",
            )


class SymbolicLinkTest(tf.test.TestCase):
    def test_a_class_folder_linking_another_is_refused(self):
        root = _folder(self.create_tempdir().full_path)
        os.symlink("b", f"{root}/train/c")
        os.makedirs(f"{root}/val/c")
        with self.assertRaisesRegex(
            ValueError,
            r"train/c/0\.png is the same file as \S+/train/b/0\.png \(under classes 'b' and 'c'; "
            r"3 such file\(s\) in \S+/train, through symbolic links\).*Remove the link",
        ):
            list_image_folder(root)

    def test_two_class_folders_linking_one_folder_are_refused(self):
        root = _folder(self.create_tempdir().full_path)
        shared = self.create_tempdir().full_path
        _save(f"{shared}/s.png", _rgb())
        for name in ("x", "y"):
            os.symlink(shared, f"{root}/train/{name}")
            os.makedirs(f"{root}/val/{name}")
        with self.assertRaisesRegex(ValueError, r"train/y/s\.png .*under classes 'x' and 'y'"):
            list_image_folder(root)

    def test_a_file_link_into_another_class_is_refused(self):
        root = _folder(self.create_tempdir().full_path)
        os.symlink("../b/1.png", f"{root}/train/a/from_b.png")
        with self.assertRaisesRegex(
            ValueError, r"train/b/1\.png is the same file as \S+/train/a/from_b\.png .*'a' and 'b'"
        ):
            list_image_folder(root)
        os.remove(f"{root}/train/a/from_b.png")
        os.symlink("1.png", f"{root}/train/a/again.png")  # twice in one class
        with self.assertRaisesRegex(ValueError, r"both under class 'a'"):
            list_image_folder(root)

    def test_links_that_repeat_nothing_keep_working(self):
        root = _folder(self.create_tempdir().full_path)
        elsewhere = self.create_tempdir().full_path
        _save(f"{elsewhere}/pics/p.png", _rgb())
        _save(f"{elsewhere}/one.png", _rgb())
        os.symlink(f"{elsewhere}/pics", f"{root}/train/a/pics")
        os.symlink(f"{elsewhere}/one.png", f"{root}/train/b/one.png")
        listing = list_image_folder(root)
        labels = dict(zip(listing.train_paths, listing.train_labels))
        self.assertEqual(labels[f"{root}/train/a/pics/p.png"], 0)
        self.assertEqual(labels[f"{root}/train/b/one.png"], 1)
        self.assertLen(listing.train_paths, 8)


class StrayFilesAndClassesTest(tf.test.TestCase):
    def test_hidden_stray_and_other_files(self):
        root = _folder(self.create_tempdir().full_path)
        with open(f"{root}/train/a/._0.png", "wb") as handle:  # macOS resource fork
            handle.write(b"\x00\x05\x16\x07 not an image")
        _save(f"{root}/train/loose.png", _rgb())
        with open(f"{root}/train/b/notes.txt", "w") as handle:
            handle.write("not an image")
        with self.assertLogs("absl", level="WARNING") as logs:
            listing = list_image_folder(root)
        self.assertLen(listing.train_paths, 6)  # neither ._0.png nor loose.png
        text = "\n".join(logs.output)
        self.assertRegex(text, r"Ignored 1 image file\(s\) directly in \S+/train, .*loose\.png\.")
        self.assertRegex(text, r"Ignored 1 file\(s\) of \S+/train .*\(1 x \.txt\): \S+notes\.txt")
        self.assertNotIn("._0.png", text)

    def test_a_single_class_is_refused(self):
        root = _folder(self.create_tempdir().full_path, classes=("only",))
        with self.assertRaisesRegex(
            ValueError, r"train has one class folder \('only'\), but a classifier needs at least 2"
        ):
            list_image_folder(root)

    def test_class_names_match_after_nfc_normalisation(self):
        nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
        self.assertNotEqual(nfc, nfd)
        root = self.create_tempdir().full_path
        for split, name in (("train", nfc), ("val", nfd)):
            for cls in (name, "tea"):
                _save(f"{root}/{split}/{cls}/0.png", _rgb())
                _save(f"{root}/{split}/{cls}/1.png", _rgb())
        listing = list_image_folder(root)
        self.assertEqual(listing.class_names, (nfc, "tea"))
        self.assertEqual(listing.eval_labels, (0, 0, 1, 1))
        self.assertTrue(listing.eval_paths[0].startswith(os.path.join(root, "val", nfd)))
        _save(f"{root}/train/{nfd}/2.png", _rgb())  # now both spellings in train/
        with self.assertRaisesRegex(ValueError, "differ only in Unicode normalisation"):
            list_image_folder(root)


class PillowFormatsTest(tf.test.TestCase):
    def test_tiff_webp_and_low_bit_bmp_decode_like_pillow(self):
        root = _folder(self.create_tempdir().full_path, train=1)
        files = {
            "t.tif": dict(),
            "w.webp": dict(lossless=True),
            "palette.bmp": dict(),  # 8-bit: TensorFlow would read the indices as gray
            "bits.bmp": dict(),
        }
        for name, kwargs in files.items():
            image = Image.fromarray(_rgb(9, 7))
            if name == "palette.bmp":
                image = image.convert("P")
            elif name == "bits.bmp":
                image = image.convert("1")
            os.makedirs(f"{root}/val/a", exist_ok=True)
            image.save(f"{root}/val/a/{name}", **kwargs)
        listing = list_image_folder(root)
        names = [os.path.basename(p) for p in listing.eval_paths]
        pillow_only = sorted(names[i] for i in listing.eval_pillow)
        self.assertEqual(pillow_only, ["bits.bmp", "palette.bmp", "t.tif"])
        files = ImageFiles(listing.eval_paths, listing.eval_labels, pillow=listing.eval_pillow)
        cache = DecodedCache.build(files)
        streamed = [x.numpy() for x, _ in files.examples(range(len(names)))]
        cached = [x.numpy() for x, _ in cache.examples(range(len(names)))]
        for path, a, b in zip(listing.eval_paths, streamed, cached):
            expected = np.asarray(Image.open(path).convert("RGB"))
            self.assertAllEqual(a, expected, msg=path)
            self.assertAllEqual(b, expected, msg=path)

    def test_the_cache_decodes_without_retracing_warnings(self):
        root = _folder(self.create_tempdir().full_path, train=40)
        listing = list_image_folder(root)
        files = ImageFiles(listing.train_paths, listing.train_labels)
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = tf.get_logger()
        logger.addHandler(handler)
        try:
            DecodedCache.build(files, threads=8)
        finally:
            logger.removeHandler(handler)
        self.assertEqual([r.getMessage() for r in records if "retracing" in r.getMessage()], [])
