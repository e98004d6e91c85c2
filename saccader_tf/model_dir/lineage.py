"""What each stage of a model_dir was trained from: `stageN/parent.json`.

Stages 2, 3 and 4 start from the weights file of the stage before them (stage 3 from stage 1's
with `skip_stage2`). When such a stage starts training, `record_parent` writes beside its own
files which stage file it starts from and that file's SHA-256:

    model_dir/stage2/parent.json   {"parent_stage": 1, "parent_sha256": "<SHA-256 of stage1/...h5>"}

A finished stage whose parent has changed since (e.g. stage 1 trained again with `--retrain`) was
trained on weights that are gone: `parent_change` says so, so the run trains it again instead of
skipping it, and `lineage_problem` tells whether a final model and an earlier stage file belong
to one chain (the stage-1 baselines of an evaluation must come from the final model's own
stage 1). Model_dirs written before this record (no `parent.json`) are taken as they are.
"""

import os

import tensorflow as tf

from saccader_tf.model_dir import files
from saccader_tf.model_dir.errors import CorruptCheckpointError
from saccader_tf.model_dir.records import read_json_record, write_json_record
from saccader_tf.model_dir.stage_files import file_sha256, stage_weights_path

PARENT_FILE = "parent.json"


def parent_path(model_dir, stage):
    """Path of the record of what `stage` was trained from."""
    return os.path.join(model_dir, f"stage{stage}", PARENT_FILE)


def stage_sha256(model_dir, stage):
    """The SHA-256 of `stage`'s weights file: the one written beside it when there is one (it is
    checked whenever the file loads), else computed; `None` when the file does not exist."""
    path = stage_weights_path(model_dir, stage)
    if not files.exists(path):
        return None
    try:
        written = files.read_text(path + ".sha256").strip()
        if written:
            return written
    except (OSError, tf.errors.OpError):
        pass
    return file_sha256(path)


def record_parent(model_dir, stage, parent_stage):
    """Records that `stage` starts training from the current weights file of `parent_stage`."""
    record = {"parent_stage": parent_stage, "parent_sha256": stage_sha256(model_dir, parent_stage)}
    write_json_record(parent_path(model_dir, stage), record)


def parent_change(model_dir, stage, parent_stage):
    """Why `stage`'s files were not trained from the current file of `parent_stage` (one
    sentence), or `None` when they were, or when `stage` has no record (an older model_dir)."""
    path = parent_path(model_dir, stage)
    if not files.exists(path):
        return None
    record = _read(path)
    if record.get("parent_stage") != parent_stage:
        return (
            f"it was trained from stage {record.get('parent_stage')}, and now starts from stage "
            f"{parent_stage} ({path})"
        )
    if record.get("parent_sha256") != stage_sha256(model_dir, parent_stage):
        return (
            f"it was trained from another stage-{parent_stage} file than the one now in "
            f"{stage_weights_path(model_dir, parent_stage)} (its SHA-256 differs from the one "
            f"recorded in {path})"
        )
    return None


def lineage_problem(model_dir, stage, ancestor):
    """Why the file of `ancestor` (an earlier stage) is not the one `stage`'s file was trained
    from, following the `parent.json` records back; `None` when it is, or when a record is
    missing (an older model_dir)."""
    while stage > ancestor:
        path = parent_path(model_dir, stage)
        if not files.exists(path):
            return None
        parent = _read(path).get("parent_stage")
        change = parent_change(model_dir, stage, parent)
        if change:
            return f"stage {stage}: {change}"
        if not isinstance(parent, int) or parent >= stage:
            return None
        stage = parent
    return None


def _read(path):
    record = read_json_record(
        path, "delete it to take the stage as it is, or train the stage again with --retrain"
    )
    if not isinstance(record.get("parent_stage"), (int, type(None))):
        raise CorruptCheckpointError(
            f"{path} holds parent_stage={record.get('parent_stage')!r}, not a stage number: "
            f"delete it to take the stage as it is. Received: path={path}"
        )
    return record
