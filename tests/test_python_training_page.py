"""docs/python_training.md runs as written: its Python blocks, in order, as one script.

The script runs in a fresh interpreter in a temporary directory, with the page's one line of sizes
replaced by tiny ones (the page says which). Checked: every stage's history has `val_loss`, the
callbacks' files and the model_dir exist, and the loaded predictor's probabilities are the softmax
of the trained Saccader's own logits on the same (all-zero) image.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT

PAGE = os.path.join(REPO_ROOT, "docs", "python_training.md")
SIZES = 'IMAGE_SIZE, VARIANT, EPOCHS, STEPS, EVAL_STEPS = 60, "bagnet9_tiny", 4, 100, 10'
TINY = 'IMAGE_SIZE, VARIANT, EPOCHS, STEPS, EVAL_STEPS = 28, "bagnet9_tiny", 2, 2, 1'
REPORT = """
import json
logits = saccader(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32))["logits"][0]
print("RESULT " + json.dumps({
    "val_loss": [len(h.history.get("val_loss", [])) for h in (history1, history2, history3)],
    "logits": np.asarray(logits, np.float64).tolist(),
    "classes": [int(c) for c in result["classes"]],
    "probabilities": [float(p) for p in result["probabilities"]],
}))
"""


def page_script():
    """The page's Python blocks joined in order, with the tiny sizes (the page's line must be
    there exactly once, so the page and this test cannot drift apart)."""
    with open(PAGE, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.DOTALL)
    script = "\n".join(blocks)
    assert script.count(SIZES) == 1, "the page's sizes line changed: update SIZES and TINY"
    return script.replace(SIZES, TINY)


@pytest.mark.slow
def test_page_runs_as_written(tmp_path):
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", page_script() + REPORT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line[len("RESULT ") :])
    assert result["val_loss"] == [2, 2, 2]  # every stage, every epoch (no early stop in 2)
    for stage in ("stage1", "stage2", "stage3"):
        assert (tmp_path / "runs/python_checkpoints" / f"{stage}.weights.h5").is_file()
    for name in ("model_config.json", "preprocessing.json", "stage3/saccader.weights.h5"):
        assert (tmp_path / "runs/python" / name).is_file(), name
    logits = np.array(result["logits"])
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    top3 = np.argsort(-softmax)[:3]
    assert result["classes"] == top3.tolist()
    np.testing.assert_allclose(result["probabilities"], softmax[top3], rtol=1e-5)
