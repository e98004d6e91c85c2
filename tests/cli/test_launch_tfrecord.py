"""The launcher on TFRecord shards written by `write_tfrecords`: stage 1 trains; an undecodable
record stops the run with one line naming its shard, or is skipped with --skip_bad_files (those two
in subprocesses: the decoder's warnings are printed by TensorFlow's C++ side)."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.support.launcher_flags import TINY_ARGS, launch_in_process
from tests.support.tfrecord_fixture import write_corrupt_jpeg, write_mixed_folder, write_shards


def _launch(model_dir, *flags):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "saccader_tf.launch", "--stage=1", *TINY_ARGS, *flags]
    return subprocess.run(
        command + [f"--model_dir={model_dir}"],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
    )


@pytest.mark.slow  # runs the launcher in a subprocess
class LaunchTfrecordTest(tf.test.TestCase):
    def test_stage1_trains_on_shards(self):
        folder = os.path.join(self.get_temp_dir(), "images")
        write_mixed_folder(folder, train=24, val=6)
        shards = write_shards(folder, os.path.join(self.get_temp_dir(), "shards"), label_offset=1)
        run = os.path.join(self.get_temp_dir(), "run")
        code, out, err = launch_in_process(  # in process: the same launcher.main, one start less
            "--stage=1",
            *TINY_ARGS,
            f"--dataset=tfrecord:{shards}",
            "--label_offset=1",
            "--augment=imagenet",
            f"--model_dir={run}",
        )
        self.assertEqual(code, 0, (out + err)[-4000:])
        self.assertRegex(out, r"stage 1 \(representation\): 1 epoch\(s\), 2 steps")
        self.assertTrue(os.path.exists(os.path.join(run, "stage1", "saccader.weights.h5")))
        self.assertTrue(os.path.exists(os.path.join(run, "tfrecord_scan.json")))  # the scan kept

    def test_corrupt_record_one_line_or_skipped(self):
        folder = os.path.join(self.get_temp_dir(), "bad_images")
        # 7 + 1 training records: one batch of 8 per epoch, so training meets the corrupt one.
        write_mixed_folder(folder, train=7, val=4)
        write_corrupt_jpeg(os.path.join(folder, "train", "ant", "0_corrupt.jpg"))
        shards = write_shards(folder, os.path.join(self.get_temp_dir(), "bad_shards"), shards=1)
        failed = _launch(os.path.join(self.get_temp_dir(), "fail"), f"--dataset=tfrecord:{shards}")
        self.assertEqual(failed.returncode, 2, failed.stderr[-4000:])
        # One `error:` line (libjpeg's own "Input file read error" may be printed around it).
        errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
        self.assertLen(errors, 1)
        self.assertRegex(
            errors[0],
            r"^error: Cannot decode the image of record \d+ of shard \S+train-00000-of-00001",
        )
        skip_dir = os.path.join(self.get_temp_dir(), "skip")
        skipped = _launch(skip_dir, f"--dataset=tfrecord:{shards}", "--skip_bad_files")
        self.assertEqual(skipped.returncode, 0, skipped.stderr[-4000:])
        self.assertIn("Skipping record", skipped.stderr)
