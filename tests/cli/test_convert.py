"""`python -m saccader_tf.convert`: a PyTorch BagNet file becomes a Keras weights file whose model
equals the PyTorch model; every problem is one line `error: ...` with exit code 2 and leaves no
file behind."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import torch

from saccader_tf.cli.convert import main
from saccader_tf.models.bagnet.bagnet import BagNet
from tests.support.paths import REPO_ROOT
from tests.support.torch_bagnet import logits, random_bagnet

BAGNET9_TRAINABLE = 15_688_744


@pytest.fixture(scope="module")
def bagnet9_file(tmp_path_factory):
    """A random PyTorch BagNet-9 and its state dict as a legacy-format `.pth.tar`."""
    torch_model = random_bagnet("bagnet9", seed=4)
    path = str(tmp_path_factory.mktemp("torch") / "bagnet9.pth.tar")
    torch.save(torch_model.state_dict(), path, _use_new_zipfile_serialization=False)
    return torch_model, path


def _convert(*args):
    return main(["convert", *args])


def test_the_written_weights_and_config_rebuild_the_pytorch_model(bagnet9_file, tmp_path, capsys):
    torch_model, path = bagnet9_file
    output = str(tmp_path / "out" / "b9.weights.h5")
    code = _convert("--format=bagnet_pytorch", "--variant=bagnet9", f"--input={path}",
                    f"--output={output}")  # fmt: skip
    assert code == 0
    said = capsys.readouterr().out
    assert f"wrote {output} (bagnet9, 1000 classes, 15,688,744 trainable weights)" in said
    with open(str(tmp_path / "out" / "b9.json")) as f:
        written = json.load(f)
    assert written["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    assert written["preprocessing"]["weights"]["variant"] == "bagnet9"
    model = BagNet.from_config(written["model"])
    model.load_weights(output)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == BAGNET9_TRAINABLE
    images = np.random.default_rng(0).uniform(-2, 2, (2, 77, 77, 3)).astype("float32")
    expected = logits(torch_model, images)
    got = keras.ops.convert_to_numpy(model(images)["logits"])
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()
    assert sorted(os.listdir(tmp_path / "out")) == ["b9.json", "b9.weights.h5"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variant=bagnet33"], "holds bagnet9 weights (published as bagnet8), not bagnet33"),
        (["--variant=bagnet9", "--input=nowhere.pth"], "nowhere.pth does not exist"),
        (["--variant=bagnet9", "--output=OUT.h5"], "--output must end in .weights.h5"),
        (["--variant=bagnet99"], "flag --variant=bagnet99: value should be one of"),
        (["--format=onnx"], "flag --format=onnx: value should be one of"),
        (["--variant=bagnet9", "--input="], "--input is needed"),
        (["--variant=bagnet9", "extra"], "unexpected arguments ['extra']"),
    ],
)
def test_problems_are_one_line_with_exit_code_2(bagnet9_file, tmp_path, capsys, args, message):
    defaults = {"--input": bagnet9_file[1], "--output": str(tmp_path / "w.weights.h5")}
    given = {a.split("=")[0] for a in args}
    args = [a.replace("OUT", str(tmp_path / "w")) for a in args]
    args += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    assert _convert(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []  # nothing written, nothing half-written


def test_a_published_name_with_a_wrong_hash_is_refused_unless_told(bagnet9_file, tmp_path, capsys):
    renamed = str(tmp_path / "bagnet8-0badf00d.pth.tar")
    os.symlink(bagnet9_file[1], renamed)
    output = str(tmp_path / "w.weights.h5")
    assert _convert("--variant=bagnet9", f"--input={renamed}", f"--output={output}") == 2
    assert "not 0badf00d as its name says" in capsys.readouterr().err
    assert not os.path.exists(output)
    args = ("--variant=bagnet9", f"--input={renamed}", f"--output={output}", "--nocheck_hash")
    assert _convert(*args) == 0 and os.path.exists(output)


def test_help_lists_the_flags(capsys):
    assert _convert("--help") == 0
    said = capsys.readouterr().out
    for flag in ("--format", "--variant", "--input", "--output", "--[no]check_hash"):
        assert flag in said


@pytest.mark.slow
def test_the_module_runs_from_the_command_line(bagnet9_file, tmp_path):
    npz = str(tmp_path / "bagnet9.npz")
    np.savez(npz, **{k: v.numpy() for k, v in bagnet9_file[0].state_dict().items()})

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "saccader_tf.convert", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    done = run("--variant=bagnet9", f"--input={npz}", f"--output={tmp_path / 'b9.weights.h5'}")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and os.path.exists(tmp_path / "b9.json")
    failed = run("--variant=bagnet17", f"--input={npz}", f"--output={tmp_path / 'x.weights.h5'}")
    assert failed.returncode == 2
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "not bagnet17: use variant=bagnet9" in last
    assert "Traceback" not in failed.stderr
