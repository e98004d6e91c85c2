"""The entry points' start-up environment (`saccader_tf.cli.startup`): `python -m
saccader_tf.launch` and `python -m benchmarks` start with oneDNN on and, without an accelerator,
TensorFlow's CPU devices only, keeping every value the user set; importing the library changes no
environment variable."""

import json
import os
import subprocess
import sys
from unittest import mock

import pytest
import tensorflow as tf

from saccader_tf.cli import startup
from tests.support.paths import REPO_ROOT

VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "TF_ENABLED_DEVICE_TYPES", "TF_CPP_MIN_LOG_LEVEL")


def _python(code, **user):
    """Runs `python -c code` with none of `VARIABLES` set but those in `user`."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **user},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _entry_point_environment(module, args, **user):
    """`VARIABLES` as the entry point `python -m module args` leaves them at its exit."""
    code = (
        "import atexit, json, os, runpy, sys\n"
        f"names = {VARIABLES!r}\n"
        "report = lambda: print('ENV=' + json.dumps({n: os.environ.get(n) for n in names}))\n"
        "atexit.register(report)\n"
        f"sys.argv = [{module!r}, *{list(args)!r}]\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    line = [line for line in _python(code, **user).splitlines() if line.startswith("ENV=")][-1]
    return json.loads(line[len("ENV=") :])


class PrepareEnvironmentTest(tf.test.TestCase):
    def test_sets_the_defaults_only_where_the_user_has_not(self):
        with mock.patch.object(startup, "no_accelerator", return_value=True):
            self.assertEqual(
                startup.prepare_environment({}),
                {
                    "TF_ENABLE_ONEDNN_OPTS": "1",
                    "TF_ENABLED_DEVICE_TYPES": "CPU",
                    "TF_CPP_MIN_LOG_LEVEL": "1",
                },
            )
            user = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_ENABLED_DEVICE_TYPES": ""}
            self.assertEqual(startup.prepare_environment(dict(user)), user)
        with mock.patch.object(startup, "no_accelerator", return_value=False):  # a GPU machine
            self.assertEqual(startup.prepare_environment({}), {"TF_ENABLE_ONEDNN_OPTS": "1"})


@pytest.mark.slow  # fresh interpreters
class EntryPointEnvironmentTest(tf.test.TestCase):
    def test_the_entry_points_start_with_onednn_and_cpu_devices(self):
        if not startup.no_accelerator():
            self.skipTest("this machine shows an accelerator: TF_ENABLED_DEVICE_TYPES stays unset")
        expected = {
            "TF_ENABLE_ONEDNN_OPTS": "1",
            "TF_ENABLED_DEVICE_TYPES": "CPU",
            "TF_CPP_MIN_LOG_LEVEL": "1",
        }
        for module, args in (
            ("saccader_tf.launch", ["--batch_size=0"]),
            ("benchmarks", ["--help"]),
        ):
            with self.subTest(entry_point=module):
                self.assertEqual(_entry_point_environment(module, args), expected)

    def test_the_entry_point_keeps_the_users_values(self):
        user = {
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "TF_ENABLED_DEVICE_TYPES": "",
            "TF_CPP_MIN_LOG_LEVEL": "0",
        }
        self.assertEqual(
            _entry_point_environment("saccader_tf.launch", ["--batch_size=0"], **user), user
        )

    def test_importing_the_library_changes_no_variable(self):
        code = (
            "import json, os\n"
            "before = dict(os.environ)\n"
            "import saccader_tf, saccader_tf.models, saccader_tf.run\n"
            "saccader_tf.Saccader, saccader_tf.RunSettings  # the lazy exports, loaded\n"
            "after = dict(os.environ)\n"
            "print(json.dumps({k: (before.get(k), after.get(k)) for k in set(before) | set(after)"
            " if before.get(k) != after.get(k)}))\n"
        )
        self.assertEqual(json.loads(_python(code).splitlines()[-1]), {})
