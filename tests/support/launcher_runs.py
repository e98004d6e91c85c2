"""Runs of a tiny three-stage training in a subprocess (killed or not), for resume tests."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.support.local_cluster import REPO_ROOT

SCRIPT = r"""
import json, os, signal, sys
import keras
import numpy as np
from saccader_tf.model_dir import stage_files
from saccader_tf.data import cluttered_mnist_source
from saccader_tf.training.distribute import make_strategy
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.training.train_stage import train_stage
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.preemption import StageInterrupted

model_dir, strategy_name, stages = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
kill_stage, kill_step = map(int, os.environ.get("KILL_AT", "0:0").split(":"))
kill_signal = getattr(signal, os.environ.get("KILL_SIGNAL", "SIGKILL"))


class KillAt(keras.callbacks.Callback):
    def __init__(self, stage):
        super().__init__()
        self.stage = stage

    def on_train_batch_end(self, batch, logs=None):
        if self.stage == kill_stage and int(self.model.optimizer.iterations.numpy()) == kill_step:
            os.kill(os.getpid(), kill_signal)


strategy = make_strategy(strategy_name)
task = json.loads(os.environ.get("TF_CONFIG", '{"task": {"index": 0}}'))["task"]["index"]
keras.utils.set_random_seed(0)
if os.environ.get("SOURCE_FOLDER"):  # an image folder of 48 training images (tests/run/test_folder_resume.py)
    from saccader_tf.data import image_folder_source
    source = image_folder_source(os.environ["SOURCE_FOLDER"], image_size=28, batch_size=8, seed=1,
                                 cache=os.environ.get("SOURCE_CACHE", "auto"))
elif os.environ.get("SOURCE_TFRECORD"):  # TFRecord shards of 48 images (tests/run/test_tfrecord_resume.py)
    from saccader_tf.data import make_source
    source = make_source("tfrecord:" + os.environ["SOURCE_TFRECORD"], image_size=28, batch_size=8,
                         seed=1, channels=1, augment="imagenet")
else:
    source = cluttered_mnist_source(image_size=28, batch_size=8, num_train=48, num_eval=8, seed=1)
with strategy.scope():
    model = Saccader(num_classes=10, image_size=28, variant="bagnet9_tiny", input_channels=1,
                     num_glimpses=2, seed=3)
    model.build()
report = {}
for stage in stages:
    if stage_files.stage_finished(model_dir, stage):
        stage_files.restore_stage(model, model_dir, stage, "")
        report[f"stage{stage}"] = "skipped"
        print("STAGE " + json.dumps({f"stage{stage}": "skipped"}), flush=True)
        continue
    settings = StageSettings(epochs=3, learning_rate=0.01, weight_decay=1e-4, num_targets=2,
                             eval_steps=1, verbose=0, save_every_steps=4)
    try:
        result = train_stage(stage, model, source, settings, model_dir=model_dir,
                             strategy=strategy, callbacks=[KillAt(stage)])
    except StageInterrupted as stop:
        print("STOPPED " + json.dumps({"step": stop.step, "saved": stop.saved}), flush=True)
        sys.exit(stop.exit_code)
    report[f"stage{stage}"] = {k: result[k] for k in ("steps", "resumed_from", "epochs_run")}
    print("STAGE " + json.dumps({f"stage{stage}": report[f"stage{stage}"]}), flush=True)
np.savez(os.path.join(model_dir, f"final_{task}.npz"), *model.get_weights())
print("RESULT " + json.dumps(report), flush=True)
"""  # noqa: E501 (a script run in a subprocess)


def run(model_dir, kill_at=None, strategy="default", stages="1,3", kill_signal=None, **source_env):
    """Runs the script; `kill_at="<stage>:<step>"` signals the process after that step with
    `kill_signal` (a `signal` name, default SIGKILL)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **source_env)
    for name in ("KILL_AT", "KILL_SIGNAL"):
        env.pop(name, None)
    if kill_at:
        env["KILL_AT"] = kill_at
    if kill_signal:
        env["KILL_SIGNAL"] = kill_signal
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, model_dir, strategy, stages],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )


def stopped(output):
    """The `STOPPED` line of a run stopped by a signal (`{"step": ..., "saved": ...}`) or `None`."""
    lines = [line for line in output.splitlines() if line.startswith("STOPPED ")]
    return json.loads(lines[-1][len("STOPPED ") :]) if lines else None


def stage_reports(output):
    """The `STAGE` lines of a run, printed as each stage ends (also before a later stage is killed):
    `{"stage1": {"steps": ..., "resumed_from": ..., "epochs_run": [...]}, ...}`."""
    reports = {}
    for line in output.splitlines():
        if line.startswith("STAGE "):
            reports.update(json.loads(line[len("STAGE ") :]))
    return reports


def report(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :]) if lines else None


def weights(model_dir, task=0):
    with np.load(os.path.join(model_dir, f"final_{task}.npz")) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
