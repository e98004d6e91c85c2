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
so an interrupted save or a damaged copy is named as such instead of loading garbage. model_dir
may be a URL (`gs://...`): the files go through `saccader_tf.model_dir.files`, h5py writing and
reading a local temporary copy. The records
beside the weights are in `records` and `preprocessing_record`; rebuilding the final model is
`model_config.load_trained_model`.
"""

import errno
import os
import sys

import tensorflow as tf

from saccader_tf.model_dir import files
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
    return files.exists(stage_weights_path(model_dir, stage)) and not files.exists(
        progress_dir(model_dir, stage)
    )


def save_stage(model, model_dir, stage):
    """Saves all of `model`'s weights as the checkpoint of `stage`; returns the path.

    Written to a temporary file first and renamed, so an interrupted save never leaves a
    truncated checkpoint behind; the SHA-256 file beside it is written the same way, before
    anything is renamed.

    Raises:
        OSError: `errno.ENOSPC` naming the path when the disk is full (the launcher's one-line
            error); the previous checkpoint of `stage`, if any, is kept as it was.
    """
    path = stage_weights_path(model_dir, stage)
    files.makedirs(os.path.dirname(path))
    partial = path[: -len(".weights.h5")] + ".partial.weights.h5"
    digest_partial = path + ".sha256.partial"
    try:
        with files.written_locally(partial) as local:  # h5py writes local files only
            model.save_weights(local)
            digest = files.sha256(local)
        files.write_text(digest_partial, digest + "\n")
    except (OSError, RuntimeError, tf.errors.OpError) as error:
        for leftover in (partial, digest_partial):
            try:
                files.remove(leftover)
            except (OSError, tf.errors.OpError):
                pass
        if is_disk_full(error):
            raise OSError(errno.ENOSPC, f"No space left on device writing {path}", path) from None
        raise
    files.remove(path + ".sha256")  # a kill from here on: a file without digest
    files.replace(partial, path)
    files.replace(digest_partial, path + ".sha256")
    return path


def is_disk_full(error):
    """Whether `error` (an `OSError`, or h5py's `RuntimeError`) says the disk is full."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    text = error.message if isinstance(error, tf.errors.OpError) else str(error)
    return "No space left on device" in text or "errno = 28" in text


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

    digest_path = path + ".sha256"
    checked = files.exists(digest_path)
    if checked:
        expected = files.read_text(digest_path).strip()
        if expected != file_sha256(path):
            raise corrupt("is damaged (its contents differ from the SHA-256 written with it)")
    try:
        with files.local_copy(path) as local:  # h5py reads local files only
            model.load_weights(local)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if checked:  # the file is as it was written: the model built around it differs
            record = os.path.join(os.path.dirname(os.path.dirname(path)), "model_config.json")
            raise CorruptCheckpointError(
                f"{path} is intact (it matches its SHA-256) but does not fit the model built from "
                f"{record} and the flags ({reason}): restore {record} if it was edited, or use the "
                f"flags of the run that trained the file. Received: path={path}"
            ) from None
        raise corrupt(f"cannot be read ({reason})") from None
    bad = non_finite_variables(model.variables)
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise corrupt(f"holds non-finite weights ({bad[0]}{more})")
    if not checked:
        _write_missing_digest(path)


def _write_missing_digest(path):
    """A stage file without its SHA-256 (deleted, or written before checksums) loads, said in one
    line on stderr; its digest is written now so that later damage is found."""
    action = "written now, so later changes are found"
    try:
        files.write_text(path + ".sha256.partial", file_sha256(path) + "\n")
        files.replace(path + ".sha256.partial", path + ".sha256")
    except (OSError, tf.errors.OpError):
        action = "not written (model_dir is read-only)"
    print(
        f"note: {path} has no SHA-256 file beside it, so damage to it cannot be detected: loaded "
        f"unchecked; its SHA-256 was {action}.",
        file=sys.stderr,
    )


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
    if not files.exists(path):
        raise MissingCheckpointError(
            f"Stage {stage + 1} needs the stage-{stage} checkpoint {path}, which does not exist. "
            f"Create it first with:\n    {make_command}"
        )
    load_stage_weights(model, path, f"train stage {stage} again with `{make_command} --retrain`")
    return path


def file_sha256(path):
    """The SHA-256 (hex) of the file at `path` (a local path or a URL)."""
    return files.sha256(path)
