"""A model_dir damaged by hand, a full disk or a deleted folder costs one clear line, never a
traceback or a silent change: stage lineage records, checked JSON records, atomic writes, the stage
file's digest, the lock on the folder and a model_dir deleted while a stage trains.

Nothing here trains: stage files and saves are written directly, digests computed with hashlib.
"""

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.cli.error_report import error_report
from saccader_tf.model_dir import lineage, records, stage_files
from saccader_tf.model_dir import lock as model_dir_lock
from saccader_tf.model_dir.errors import CorruptCheckpointError
from saccader_tf.model_dir.lock import ModelDirBusyError, ModelDirLock
from saccader_tf.model_dir.preprocessing_record import PREPROCESSING_FILE, load_preprocessing
from saccader_tf.model_dir.progress import PLAN_FILE, StageProgress
from saccader_tf.models import Saccader
from saccader_tf.utils.errors import MissingFileError

_HOLDER = r"""
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("model_dir_lock", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with module.ModelDirLock(sys.argv[2], command="first-launcher"):
    print("locked", flush=True)
    time.sleep(120)
"""


def _model(seed=0):
    model = Saccader(
        num_classes=3, image_size=28, variant="bagnet9_tiny", input_channels=1, seed=seed
    )
    model.build()
    return model


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class LineageTest(tf.test.TestCase):
    def test_a_changed_parent_file_is_named_and_an_old_model_dir_is_trusted(self):
        model_dir = os.path.join(self.get_temp_dir(), "lineage")
        stage_files.save_stage(_model(0), model_dir, 1)
        self.assertIsNone(lineage.parent_change(model_dir, 2, 1))  # no record: as v0.2 wrote it
        lineage.record_parent(model_dir, 2, 1)
        with open(lineage.parent_path(model_dir, 2)) as f:
            recorded = json.load(f)
        self.assertEqual(recorded["parent_stage"], 1)
        self.assertEqual(
            recorded["parent_sha256"], _sha256(stage_files.stage_weights_path(model_dir, 1))
        )
        stage_files.save_stage(_model(0), model_dir, 2)
        self.assertIsNone(lineage.parent_change(model_dir, 2, 1))
        self.assertIsNone(lineage.lineage_problem(model_dir, 2, 1))

        stage_files.save_stage(_model(1), model_dir, 1)  # stage 1 trained again: other weights
        change = lineage.parent_change(model_dir, 2, 1)
        self.assertRegex(change, r"another stage-1 file .*SHA-256 differs .*stage2/parent\.json")
        self.assertRegex(lineage.lineage_problem(model_dir, 2, 1), r"^stage 2: ")
        self.assertRegex(lineage.parent_change(model_dir, 2, 3), r"trained from stage 1")


class RecordsTest(tf.test.TestCase):
    def _preprocessing(self, record):
        model_dir = os.path.join(self.get_temp_dir(), f"pre_{len(os.listdir(self.get_temp_dir()))}")
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, PREPROCESSING_FILE), "w") as f:
            f.write(record if isinstance(record, str) else json.dumps(record))
        return model_dir

    def test_a_damaged_preprocessing_record_is_named(self):
        good = {"mean": [0.5], "std": [0.25], "crop_fraction": None, "recipe": "light"}
        self.assertEqual(load_preprocessing(self._preprocessing(good)), good)
        cases = [
            ({}, r"lacks the per-channel 'mean'"),
            ('{"mean": [NaN], "std": [1.0], "crop_fraction": null}', r"non-finite .*'mean'"),
            ({**good, "std": [0.0]}, r"std <= 0"),
            ({**good, "std": [1.0, 1.0]}, r"1 mean values but 2 std"),
            ({**good, "crop_fraction": 1.5}, r"crop_fraction=1\.5"),
            ({"mean": [0.5], "std": [0.25]}, r"lacks 'crop_fraction'"),
        ]
        for record, pattern in cases:
            with self.subTest(record=str(record)):
                model_dir = self._preprocessing(record)
                with self.assertRaisesRegex(
                    CorruptCheckpointError, rf"preprocessing\.json .*{pattern}.*delete it"
                ):
                    load_preprocessing(model_dir)

    def test_an_empty_model_config_is_named_not_deserialised(self):
        model_dir = os.path.join(self.get_temp_dir(), "empty_config")
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, records.CONFIG_FILE), "w") as f:
            f.write("{}")
        with self.assertRaisesRegex(
            CorruptCheckpointError, r"model_config\.json lacks a valid 'num_classes'"
        ):
            records.load_model_config(model_dir)

    def test_a_full_disk_while_recording_the_config_leaves_no_file(self):
        model_dir = os.path.join(self.get_temp_dir(), "full_config")
        config = _model().get_config()
        full = OSError(errno.ENOSPC, "No space left on device")
        with mock.patch.object(records.json, "dump", side_effect=full):
            with self.assertRaises(OSError):
                records.check_model_config(model_dir, config)
        self.assertEqual(os.listdir(model_dir), [])  # neither a 0-byte record nor a partial one
        records.check_model_config(model_dir, config)  # the re-run records it
        self.assertEqual(records.load_model_config(model_dir)["num_classes"], 3)


class StageFileTest(tf.test.TestCase):
    def test_a_full_disk_while_saving_keeps_the_previous_file(self):
        model_dir = os.path.join(self.get_temp_dir(), "full_stage")
        path = stage_files.save_stage(_model(0), model_dir, 1)
        before = _sha256(path)
        failures = [
            OSError(errno.ENOSPC, "No space left on device"),
            RuntimeError("Can't write data (file write failed: errno = 28, error message = x)"),
        ]
        for failure in failures:
            with self.subTest(failure=type(failure).__name__):
                with mock.patch.object(keras.Model, "save_weights", side_effect=failure):
                    with self.assertRaises(OSError) as raised:
                        stage_files.save_stage(_model(1), model_dir, 1)
                self.assertEqual(raised.exception.errno, errno.ENOSPC)
                self.assertEqual(raised.exception.filename, path)
                code, line = error_report(raised.exception, model_dir)
                self.assertEqual(code, 2)
                self.assertIn(f"no space left on the disk of {path}", line)
                self.assertEqual(_sha256(path), before)
                self.assertEqual(sorted(os.listdir(os.path.dirname(path))), [
                    "saccader.weights.h5", "saccader.weights.h5.sha256"
                ])  # fmt: skip
                stage_files.load_stage_weights(_model(2), path, "fix")  # still loads

    def test_a_missing_digest_is_said_and_written_again(self):
        model_dir = os.path.join(self.get_temp_dir(), "no_digest")
        path = stage_files.save_stage(_model(0), model_dir, 1)
        os.remove(path + ".sha256")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            stage_files.load_stage_weights(_model(1), path, "fix")
        self.assertRegex(stderr.getvalue(), rf"note: {path} has no SHA-256 file .*written now")
        with open(path + ".sha256") as f:
            self.assertEqual(f.read().strip(), _sha256(path))
        with open(path, "r+b") as f:  # from now on a flipped byte is found
            f.seek(os.path.getsize(path) - 4096)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        with self.assertRaisesRegex(CorruptCheckpointError, r"is damaged"):
            stage_files.load_stage_weights(_model(1), path, "fix")

    def test_a_file_that_does_not_fit_the_recorded_model_blames_the_record(self):
        model_dir = os.path.join(self.get_temp_dir(), "edited_config")
        path = stage_files.save_stage(_model(0), model_dir, 3)
        other = Saccader(num_classes=7, image_size=28, variant="bagnet9_tiny", input_channels=1)
        other.build()
        with self.assertRaisesRegex(
            CorruptCheckpointError, r"is intact .*does not fit the model built from .*model_config"
        ):
            stage_files.load_stage_weights(other, path, "fix")


class ProgressTest(tf.test.TestCase):
    def _progress(self, directory):
        model = _model()
        optimizer = keras.optimizers.Adam(0.01)
        optimizer.build(model.trainable_variables)
        return StageProgress(directory, model, optimizer, {"stage": 1, "epochs": 3})

    def test_a_missing_plan_resumes_the_saves_with_a_note(self):
        directory = os.path.join(self.get_temp_dir(), "run", "stage1", "progress")
        progress = self._progress(directory)
        progress.start()
        progress.optimizer.iterations.assign(4)
        progress.save()
        os.remove(os.path.join(directory, PLAN_FILE))
        resumed = self._progress(directory)
        self.assertEqual(resumed.start(), 4)  # the good save is kept, not refused
        self.assertRegex(resumed.notes[0], rf"{directory}/plan\.json is missing.*current settings")
        with open(os.path.join(directory, PLAN_FILE)) as f:
            self.assertEqual(json.load(f), {"stage": 1, "epochs": 3})

    def test_a_model_dir_deleted_while_training_is_noticed_at_the_next_save(self):
        model_dir = os.path.join(self.get_temp_dir(), "deleted")
        progress = self._progress(os.path.join(model_dir, "stage1", "progress"))
        progress.start()
        progress.optimizer.iterations.assign(2)
        progress.save()
        shutil.rmtree(model_dir)
        progress.optimizer.iterations.assign(4)
        with self.assertRaisesRegex(MissingFileError, rf"{model_dir} was deleted .*step 4"):
            progress.save()
        self.assertFalse(os.path.exists(model_dir))  # not silently created again


class LockTest(tf.test.TestCase):
    def test_deleting_the_lock_file_does_not_free_the_lock(self):
        model_dir = os.path.join(self.get_temp_dir(), "locked")
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, model_dir_lock.__file__, model_dir],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        self.assertEqual(holder.stdout.readline().strip(), "locked")
        os.remove(os.path.join(model_dir, model_dir_lock.LOCK_FILE))
        with self.assertRaisesRegex(ModelDirBusyError, r"in use by another launcher"):
            with ModelDirLock(model_dir):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with ModelDirLock(model_dir) as lock:  # the holder's death frees it
            self.assertEqual(lock.holder()["pid"], os.getpid())
        np.testing.assert_equal(os.path.isdir(model_dir), True)
