"""The launcher on image folders with unreadable files, streamed: one error line and exit 2, or
(with --skip_bad_files) a finished run that names what it skipped; never a process that hangs."""

import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf

from saccader_tf.data.write_folder import write_cluttered_mnist_folder
from tests.support.launcher_flags import TINY_ARGS
from tests.support.paths import REPO_ROOT

TIMEOUT = 300  # seconds; far above a tiny run, so only a hang reaches it


def launch(test, root, model_dir, *flags):
    """Runs `--stage=1` streamed on `root` in a subprocess; a hang becomes a test failure."""
    command = [
        sys.executable,
        "-m",
        "saccader_tf.launch",
        "--stage=1",
        f"--dataset=folder:{root}",
        "--cache=stream",
        f"--model_dir={model_dir}",
        *TINY_ARGS,
        *flags,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=REPO_ROOT
        )
    except subprocess.TimeoutExpired as error:
        output = (error.stderr or b"")[-3000:]
        test.fail(f"the launcher did not exit within {TIMEOUT} s (a hang): {output!r}")


def truncate_all(folder, size):
    names = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            os.truncate(os.path.join(dirpath, name), size)
            names.append(os.path.join(dirpath, name))
    return names


@pytest.mark.slow  # runs the launcher in subprocesses
class StreamedBadFilesTest(tf.test.TestCase):
    def test_truncated_pngs_give_one_error_line_and_exit(self):
        root = os.path.join(self.get_temp_dir(), "truncated")
        write_cluttered_mnist_folder(
            root, image_size=28, num_train=40, num_eval=10, seed=0, progress=False
        )
        truncated = truncate_all(os.path.join(root, "train"), 20)  # valid PNG signature, no body
        for attempt in range(2):  # the hang was intermittent: two runs
            result = launch(self, root, os.path.join(self.get_temp_dir(), f"run{attempt}"))
            self.assertEqual(result.returncode, 2, result.stderr[-3000:])
            last = result.stderr.strip().splitlines()[-1]
            match = re.fullmatch(
                r"error: Cannot read image file (\S+): it cannot be decoded \(corrupt or "
                r"truncated\)\. Remove it, or pass --skip_bad_files \(skip_bad_files=True\)\.",
                last,
            )
            self.assertIsNotNone(match, last)
            self.assertIn(match.group(1), truncated)
            self.assertNotIn("Traceback", result.stderr)

    def test_twenty_corrupt_jpegs_in_a_row_are_skipped_and_named(self):
        root = os.path.join(self.get_temp_dir(), "corrupt")
        write_cluttered_mnist_folder(
            root, image_size=28, num_train=16, num_eval=10, seed=0, progress=False
        )
        bad = [os.path.join(root, "train", "5", f"bad{i:02d}.jpg") for i in range(20)]
        for path in bad:  # a JPEG signature, then bytes that are no JPEG
            with open(path, "wb") as handle:
                handle.write(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2)
        result = launch(self, root, os.path.join(self.get_temp_dir(), "run"), "--skip_bad_files")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        warnings = re.findall(
            r"warning: Skipping image file (\S+): it cannot be decoded; its slot is filled by "
            r"(\S+) \((\d+) file\(s\) skipped while decoding in this process\)\.",
            result.stderr,
        )
        self.assertNotEqual(warnings, [])  # 16 of 36 slots are read: some bad ones are met
        self.assertEqual([int(count) for *_, count in warnings], list(range(1, len(warnings) + 1)))
        skipped = [path for path, _, _ in warnings]
        self.assertLen(set(skipped), len(skipped))  # each file named once
        for path, filled_by, _ in warnings:
            self.assertIn(path, bad)
            self.assertNotIn(filled_by, bad)
        self.assertRegex(result.stdout, r"stage 1 \(.*\): 1 epoch\(s\), 2 steps")
