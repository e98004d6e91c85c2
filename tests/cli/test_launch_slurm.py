"""Two launcher processes started as the tasks of a Slurm step (faked `SLURM_*` variables, one
host) form a `MultiWorkerMirroredStrategy` cluster with `--cluster_resolver=slurm`; a SIGTERM to
one of them stops both at the same step, and the same command continues from it."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow as tf

from saccader_tf.model_dir import stage_files
from saccader_tf.training.distribute import make_strategy
from saccader_tf.utils.errors import BadValueError
from tests.support.paths import REPO_ROOT
from tests.support.step_lines import wait_for_step_in_file

TINY = [
    "--stage=1",
    "--strategy=multi_worker",
    "--cluster_resolver=slurm",
    "--model=bagnet9_tiny",
    "--image_size=28",
    "--batch_size=8",
    "--num_glimpses=2",
    "--num_targets=2",
    "--eval_steps=1",
    "--train_examples=64",
    "--epochs=1",
    "--steps=60",
    "--save_every_steps=0",
    "--log_every_steps=1",
]


def _free_port_pair():
    """A port `p` such that `p` and `p + 1` are free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def _start_tasks(model_dir, port):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(
        SLURM_STEP_NUM_TASKS="2",
        SLURM_STEP_NODELIST="localhost",
        SLURM_STEP_TASKS_PER_NODE="2",
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    command = [sys.executable, "-m", "saccader_tf.launch", *TINY, f"--model_dir={model_dir}"]
    command.append(f"--cluster_port={port}")
    tasks = []
    for rank in range(2):
        log = tempfile.TemporaryFile(mode="w+")
        process = subprocess.Popen(
            command,
            env=dict(env, SLURM_PROCID=str(rank)),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        tasks.append((process, log))
    return tasks


def _finish(tasks, timeout):
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p, _ in tasks) and time.monotonic() < deadline:
        time.sleep(0.5)
    results = []
    for process, log in tasks:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.seek(0)
        results.append((process.returncode, log.read()))
    return results


class SlurmResolverTest(tf.test.TestCase):
    def test_outside_a_slurm_step_is_one_line(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        with pytest.MonkeyPatch.context() as patch:
            for name in set(os.environ) - set(env):
                patch.delenv(name)
            with self.assertRaisesRegex(BadValueError, r"found no SLURM_PROCID.*run .* under srun"):
                make_strategy("multi_worker", cluster_resolver="slurm")

    @pytest.mark.slow
    def test_two_slurm_tasks_train_and_stop_together_on_sigterm(self):
        model_dir = os.path.join(self.get_temp_dir(), "run")
        tasks = _start_tasks(model_dir, _free_port_pair())
        # Both tasks are training once the chief has logged step 3 (the steps are collective).
        chief_log = tasks[0][1]
        wait_for_step_in_file(chief_log, 1, 3, [p for p, _ in tasks], timeout=300)
        tasks[1][0].send_signal(signal.SIGTERM)  # only task 1 (not the chief) is told
        stopped = _finish(tasks, timeout=180)
        steps = set()
        for code, output in stopped:
            self.assertEqual(code, 128 + signal.SIGTERM, output[-3000:])
            match = re.search(
                r"stopped by SIGTERM after step (\d+) of stage 1: progress saved", output
            )
            self.assertIsNotNone(match, output[-3000:])
            steps.add(int(match.group(1)))
        self.assertLen(steps, 1)  # both workers stopped after the same step
        step = steps.pop()
        resumed = _finish(_start_tasks(model_dir, _free_port_pair()), timeout=600)
        for code, output in resumed:
            self.assertEqual(code, 0, output[-3000:])
            self.assertIn(f"stage 1: resuming at step {step} of", output)
        self.assertTrue(os.path.exists(stage_files.stage_weights_path(model_dir, 1)))
