"""A clean start: on a machine without a GPU the launcher prints no TensorFlow C++ error lines.

The entry points enable only TensorFlow's CPU devices there (`saccader_tf.cli.startup`:
TF_ENABLED_DEVICE_TYPES=CPU), so TensorFlow's CUDA build does not probe for a GPU and log
`E0000 ... failed call to cuInit`; `TF_ENABLED_DEVICE_TYPES=` (empty) brings the probe back.
"""

import fnmatch
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import pytest
import tensorflow as tf

from saccader_tf.cli import startup

TINY_FLAGS = [
    "--model=bagnet9_tiny",
    "--image_size=28",
    "--num_glimpses=3",
    "--num_targets=4",
    "--batch_size=16",
    "--epochs=1",
    "--steps=1",
    "--eval_steps=1",
    "--train_examples=32",
]


def _user_env(**settings):
    """The environment of a user who set none of the variables the entry points set, plus
    `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_ENABLED_DEVICE_TYPES", "TF_CPP_MIN_LOG_LEVEL")
    }
    return {**env, **settings}


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("E0000") or "cuInit" in line]


class NoAcceleratorTest(unittest.TestCase):
    """The decision, with the machine's devices faked."""

    def _no_accelerator(self, platform="linux", devices=(), which=None):
        with (
            mock.patch.object(sys, "platform", platform),
            mock.patch("glob.glob", lambda pattern: fnmatch.filter(devices, pattern)),
            mock.patch("shutil.which", lambda name: which),
            mock.patch.object(sys, "path", []),
            mock.patch("importlib.util.find_spec", lambda name: None),
        ):
            return startup.no_accelerator()

    def test_plain_linux_machine_has_none(self):
        self.assertTrue(self._no_accelerator())

    def test_gpu_device_files_or_driver_tool_count(self):
        for device in ("/dev/nvidia0", "/dev/dxg", "/dev/kfd", "/dev/accel0", "/dev/vfio/0"):
            self.assertFalse(self._no_accelerator(devices=[device]), device)
        self.assertFalse(self._no_accelerator(which="/usr/bin/nvidia-smi"))

    def test_other_systems_are_left_alone(self):
        self.assertFalse(self._no_accelerator(platform="darwin"))


@pytest.mark.slow
class CleanStartTest(unittest.TestCase):
    """The launcher and the opt-out, in subprocesses started as a user starts them."""

    def setUp(self):
        if not startup.no_accelerator():
            self.skipTest("this machine has a GPU or TPU: TensorFlow probes it and may log so")

    def test_launcher_prints_no_tensorflow_error_lines(self):
        with tempfile.TemporaryDirectory() as model_dir:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "saccader_tf.launch",
                    *TINY_FLAGS,
                    "--stage=1",
                    f"--model_dir={model_dir}",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                env=_user_env(),
            )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("stage 1 (representation)", result.stdout)
        self.assertEqual(_error_lines(result.stderr), [], result.stderr[-3000:])

    def test_variables_the_user_set_are_kept(self):
        # docs/reliability.md ("Start-up lines"): an empty TF_ENABLED_DEVICE_TYPES brings
        # TensorFlow's GPU probe back.
        script = (
            "import os; from saccader_tf.cli.startup import prepare_environment; "
            "prepare_environment(); import tensorflow as tf; tf.config.list_physical_devices(); "
            "print(repr(os.environ['TF_ENABLED_DEVICE_TYPES']), "
            "os.environ['TF_CPP_MIN_LOG_LEVEL'])"
        )
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=300,
            env=_user_env(TF_ENABLED_DEVICE_TYPES="", TF_CPP_MIN_LOG_LEVEL="0"),
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertEqual(result.stdout.split(), ["''", "0"])
        if tf.test.is_built_with_cuda():  # the CUDA build probes, fails and says so again
            self.assertNotEqual(_error_lines(result.stderr), [], result.stderr[-3000:])


if __name__ == "__main__":
    unittest.main()
