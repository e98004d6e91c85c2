"""The weights file each training stage leaves in model_dir, and restoring it with clear errors.

    model_dir/stage1/saccader.weights.h5  after stage 1 (the representation network trained),
                                          with its SHA-256 in saccader.weights.h5.sha256
    model_dir/stage2/saccader.weights.h5  after stage 2 (+ the location network)
    model_dir/stage3/saccader.weights.h5  after stage 3: the final Saccader (DRAM's one stage is
                                          stored here too, as its final stage)
    model_dir/stage4/saccader.weights.h5  after stage 4: the whole Saccader-ClassNet
    model_dir/stageN/progress/            while stage N runs: its resumable progress (deleted at
                                          the end; see `saccader_tf.model_dir.progress`)
    model_dir/logs/stageN/                TensorBoard logs

A file is written under a temporary name and renamed, and its SHA-256 is checked when it loads,
so an interrupted save or a damaged copy is named as such instead of loading garbage. The records
beside the weights are in `records` and `preprocessing_record`; rebuilding the final model is
`model_config.load_trained_model`.
"""

import hashlib
import os

from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.utils.finite import non_finite_variables

WEIGHTS_FILE = "saccader.weights.h5"


def stage_weights_path(model_dir, stage):
    """Path of the weights file written at the end of `stage` (1, 2, 3 or 4)."""
    return os.path.join(model_dir, f"stage{stage}", WEIGHTS_FILE)


def progress_dir(model_dir, stage):
    """Directory of the resumable progress of `stage` while it runs."""
    return os.path.join(model_dir, f"stage{stage}", "progress")


def stage_finished(model_dir, stage):
    """Whether `stage` ran to its end in `model_dir`: its checkpoint exists and no progress is
    pending."""
    return os.path.exists(stage_weights_path(model_dir, stage)) and not os.path.exists(
        progress_dir(model_dir, stage)
    )


def save_stage(model, model_dir, stage):
    """Saves all of `model`'s weights as the checkpoint of `stage`; returns the path.

    Written to a temporary file first and renamed, so an interrupted save never leaves a
    truncated checkpoint behind; the SHA-256 file beside it is written the same way.
    """
    path = stage_weights_path(model_dir, stage)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path[: -len(".weights.h5")] + ".partial.weights.h5"
    model.save_weights(partial)
    digest = _sha256(partial)
    os.replace(partial, path)
    with open(path + ".sha256.partial", "w") as f:
        f.write(digest + "\n")
    os.replace(path + ".sha256.partial", path + ".sha256")
    return path


def load_stage_weights(model, path, fix):
    """Loads the stage checkpoint `path` into `model`, checking it first and after.

    The file must match the SHA-256 written beside it (when there is one), load, and give finite
    weights only.

    Args:
        model: a built model of the architecture that wrote the file.
        path: a file written by `save_stage`.
        fix: what to do about a bad file (quoted in the error).

    Raises:
        CorruptCheckpointError: naming `path`, what is wrong and `fix`.
    """

    def corrupt(problem):
        return CorruptCheckpointError(f"{path} {problem}: {fix}. Received: path={path}")

    if os.path.exists(path + ".sha256"):
        with open(path + ".sha256") as f:
            expected = f.read().strip()
        if expected != _sha256(path):
            raise corrupt("is damaged (its contents differ from the SHA-256 written with it)")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise corrupt(f"cannot be read ({reason})") from None
    bad = non_finite_variables(model.variables)
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise corrupt(f"holds non-finite weights ({bad[0]}{more})")


def restore_stage(model, model_dir, stage, make_command):
    """Loads the checkpoint of `stage` into `model`; returns its path.

    Args:
        model: a built model of the architecture that wrote the file.
        model_dir: the run's directory.
        stage: the stage whose checkpoint is needed.
        make_command: the shell command that creates it (quoted in the error).

    Raises:
        MissingCheckpointError: naming the missing path and the command that creates it.
        CorruptCheckpointError: the file is damaged, naming it and that command.
    """
    path = stage_weights_path(model_dir, stage)
    if not os.path.exists(path):
        raise MissingCheckpointError(
            f"Stage {stage + 1} needs the stage-{stage} checkpoint {path}, which does not exist. "
            f"Create it first with:\n    {make_command}"
        )
    load_stage_weights(model, path, f"train stage {stage} again with `{make_command} --retrain`")
    return path


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
