"""Problems a user can fix end the launcher with one line `error: ...` naming the flag or file and
the fix, exit code 2 and no traceback.

In process: `launcher.main` runs under `flagsaver` with tiny flags, and `SystemExit` and stderr are
captured; nothing here trains a step or reaches the network (the TFDS download and the network
probe are replaced).
"""

import contextlib
import errno
import io
import os
from unittest import mock

import numpy as np
import requests
import tensorflow as tf
import tensorflow_datasets as tfds
from absl.testing import flagsaver

from saccader_tf.cli import launcher
from saccader_tf.data import tfds_download
from saccader_tf.model_dir import stage_files as checkpoints
from saccader_tf.models import Saccader
from saccader_tf.run import orchestrator as recipe

TINY = dict(
    model="bagnet9_tiny",
    image_size=28,
    num_glimpses=3,
    num_targets=4,
    batch_size=16,
    epochs=["1"],
    steps=2,
    eval_steps=1,
    train_examples=64,
    seed=3,
)


class LaunchErrorsTest(tf.test.TestCase):
    def _main(self, **flags):
        """Runs the launcher in process; returns (exit code, stderr)."""
        stderr = io.StringIO()
        flags = {**TINY, "model_dir": os.path.join(self.get_temp_dir(), "run"), **flags}
        with flagsaver.flagsaver(**flags), contextlib.redirect_stderr(stderr):
            with self.assertRaises(SystemExit) as exit_info:
                launcher.main(["launch"])
        return exit_info.exception.code, stderr.getvalue()

    def _assert_one_line_error(self, pattern, **flags):
        code, stderr = self._main(**flags)
        self.assertEqual(code, 2, stderr)
        self.assertNotIn("Traceback", stderr)
        last = stderr.strip().splitlines()[-1]
        self.assertRegex(last, r"^error: " + pattern)
        return stderr

    def test_flags_that_cannot_work_name_the_flag(self):
        regular_file = os.path.join(self.get_temp_dir(), "a_file")
        with open(regular_file, "w") as f:
            f.write("x")
        cases = [
            (dict(steps=-3), r"--steps must be >= 1 .*Received: --steps=-3"),
            (dict(epochs=["-1"]), r"--epochs must be >= 1 .*Received: --epochs=-1"),
            (dict(epochs=["3", "0", "1"]), r"--epochs must be >= 1 for every stage .*untrained"),
            (
                dict(learning_rate=["-1"]),
                r"--learning_rate must be positive .*Received: --learning_rate=-1",
            ),
            (dict(learning_rate=["0"]), r"--learning_rate must be positive"),
            (dict(seed=-1), r"--seed must be >= 0\. Received: --seed=-1"),
            (
                dict(train_examples=0),
                r"--train_examples must be >= 1\. Received: --train_examples=0",
            ),
            (
                dict(test_examples=0),
                r"--test_examples must be >= 1\. Received: --test_examples=0",
            ),
            (dict(eval_steps=0), r"--eval_steps must be >= 1 .*Received: --eval_steps=0"),
            (
                dict(validation_steps=0),
                r"--validation_steps must be >= 1 .*Received: --validation_steps=0",
            ),
            (dict(model_dir=""), r"--model_dir must name a directory"),
            (dict(model_dir=regular_file), r"--model_dir=.*a_file is a file, not a directory"),
            (dict(skip_bad_files=True), r"--skip_bad_files applies to image folders \("),
            (dict(batch_size=0), r"--batch_size must be >= 1\. Received: --batch_size=0$"),
            (dict(learning_rate=["fast"]), r"--learning_rate takes numbers"),
        ]
        for flags, pattern in cases:
            with self.subTest(**{k: str(v) for k, v in flags.items()}):
                self._assert_one_line_error(pattern, **flags)

    def test_garbled_records_in_model_dir_are_named(self):
        for name, content, pattern in (
            ("garbled", "{oops", r".*model_config\.json is not valid JSON"),
            ("list", "[]", r".*model_config\.json holds a JSON list"),
        ):
            with self.subTest(name=name):
                model_dir = os.path.join(self.get_temp_dir(), f"config_{name}")
                os.makedirs(model_dir)
                with open(os.path.join(model_dir, "model_config.json"), "w") as f:
                    f.write(content)
                self._assert_one_line_error(
                    pattern + r".*new --model_dir", stage="1", model_dir=model_dir
                )

    def _stage1_file(self, name, nan=False):
        model_dir = os.path.join(self.get_temp_dir(), f"stage_file_{name}")
        model = Saccader(
            num_classes=10,
            image_size=28,
            variant="bagnet9_tiny",
            input_channels=1,
            num_glimpses=3,
            seed=3,
        )
        model.build()
        if nan:
            model.cell.w.assign(tf.fill(model.cell.w.shape, np.nan))
        return model_dir, checkpoints.save_stage(model, model_dir, 1)

    def test_damaged_stage_file_is_named_with_the_fix(self):
        def truncate(path):
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)

        def empty(path):
            open(path, "w").close()

        def random_bytes(path):  # inside the weight data: only the checksum can see it
            with open(path, "r+b") as f:
                f.seek(os.path.getsize(path) - 4096)
                f.write(np.random.default_rng(0).bytes(512))

        for damage in (truncate, empty, random_bytes):
            with self.subTest(damage=damage.__name__):
                model_dir, path = self._stage1_file(damage.__name__)
                damage(path)
                self._assert_one_line_error(
                    rf"{path} (cannot be read|is damaged).*train stage 1 again with "
                    r".*--stage=1.* --retrain",
                    stage="2",
                    model_dir=model_dir,
                )

    def test_stage_file_with_non_finite_weights_is_refused(self):
        model_dir, path = self._stage1_file("nan", nan=True)
        os.remove(path + ".sha256")  # as written before checksums: only the finite check sees it
        self._assert_one_line_error(
            rf"{path} holds non-finite weights \(.*cell.*\)", stage="2", model_dir=model_dir
        )

    def test_full_disk_is_one_line(self):
        model_dir = os.path.join(self.get_temp_dir(), "full")
        errors = [
            OSError(
                errno.ENOSPC, "No space left on device", os.path.join(model_dir, "stage1", "x.h5")
            ),
            tf.errors.ResourceExhaustedError(None, None, "ckpt-3.data: No space left on device"),
        ]
        for error in errors:
            with (
                self.subTest(error=type(error).__name__),
                mock.patch.object(recipe, "run", side_effect=error),
            ):
                self._assert_one_line_error(
                    r"no space left on the disk of .*re-running the same command "
                    r"continues",
                    model_dir=model_dir,
                )

    def test_tfds_without_network_fails_fast_with_the_offline_fix(self):
        data_dir = os.path.join(self.get_temp_dir(), "tfds")
        pattern = (
            r"TFDS needs to download 'mnist', but there is no network.*tfds build mnist.*--data_dir"
        )
        with (
            mock.patch.object(tfds_download, "network_reachable", return_value=False),
            mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare") as download,
        ):
            stderr = self._assert_one_line_error(pattern, dataset="mnist", data_dir=data_dir)
        download.assert_not_called()  # failed before any download attempt
        self.assertIn("TFDS is downloading and preparing 'mnist'", stderr)
        # ... and a connection error raised by the download itself gets the same message.
        refused = requests.exceptions.ConnectionError("Failed to establish a new connection")
        with (
            mock.patch.object(tfds_download, "network_reachable", return_value=True),
            mock.patch.object(
                tfds.core.DatasetBuilder, "download_and_prepare", side_effect=refused
            ),
        ):
            self._assert_one_line_error(pattern, dataset="mnist", data_dir=data_dir)

    def test_image_folder_with_empty_val_classes_is_named(self):
        from tests.support.image_folder_fixture import write_random_image_folder

        root = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "no_val"), train=8, val=0, height=30, width=30
        )
        for name in ("c0", "c1"):
            os.makedirs(os.path.join(root, "val", name))  # the class folders exist, all empty
        self._assert_one_line_error(
            r".*val.*(empty|no readable images)",
            stage="1",
            dataset=f"folder:{root}",
            batch_size=4,
            train_examples=None,
        )

    def test_empty_evaluation_split_is_refused_before_training(self):
        from saccader_tf.data.source import DataSource, fixed_epochs
        from saccader_tf.run.settings import StageSettings
        from saccader_tf.training.train_stage import train_stage

        train = tf.data.Dataset.from_tensor_slices(
            (np.zeros((8, 28, 28, 1), "float32"), np.zeros(8, "int32"))
        )
        source = DataSource(
            train_epoch=fixed_epochs(train.batch(4)),
            eval=train.take(0).batch(4),
            num_classes=10,
            image_size=28,
            channels=1,
            mean=(0.0,),
            std=(1.0,),
            name="no_val",
            eval_size=0,
        )
        model = Saccader(num_classes=10, image_size=28, variant="bagnet9_tiny", input_channels=1)
        model.build()
        with self.assertRaisesRegex(
            ValueError, r"evaluation split of dataset 'no_val' holds no examples"
        ):
            train_stage(
                1,
                model,
                source,
                StageSettings(epochs=1, learning_rate=0.01, verbose=0),
                model_dir=self.get_temp_dir(),
            )

    def test_skip_bad_files_flag_reaches_the_folder_source(self):
        from tests.support.image_folder_fixture import write_random_image_folder

        root = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "bad_file"), train=8, val=2, height=30, width=30
        )
        open(os.path.join(root, "train", "c0", "0.png"), "w").close()  # empty: found while listing
        with flagsaver.flagsaver(**{**TINY, "dataset": f"folder:{root}", "batch_size": 4}):
            with self.assertRaisesRegex(ValueError, r"c0/0\.png"):
                recipe.data_source(launcher.settings_from_flags())
            with flagsaver.flagsaver(skip_bad_files=True):
                self.assertEqual(recipe.data_source(launcher.settings_from_flags()).train_size, 7)
