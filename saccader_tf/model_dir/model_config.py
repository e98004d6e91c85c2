"""Rebuilding a trained model (Saccader, DRAM or Saccader-ClassNet) from what model_dir records.

`model_from_config` builds the model a recorded `get_config()` describes; `load_trained_model`
rebuilds the final model of a model_dir with its final weights: the Saccader-ClassNet of
`classnet_config.json` with the stage-4 weights when model_dir records one, else the model of
`model_config.json` (a Saccader or a DRAM) with the stage-3 weights.
"""

import os

import tensorflow as tf

from saccader_tf.model_dir import files
from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.model_dir.records import (
    CLASSNET_CONFIG_FILE,
    CONFIG_FILE,
    load_classnet_config,
    load_model_config,
)
from saccader_tf.model_dir.stage_files import load_stage_weights, stage_weights_path
from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.dram.dram import DRAM, DRAM_VARIANTS
from saccader_tf.models.saccader.saccader import Saccader


def is_classnet_config(config):
    """Whether `config` is a `SaccaderClassNet.get_config()` (it nests the Saccader's config)."""
    return "classifier" in config and "saccader" in config


def is_dram_config(config):
    """Whether `config` is a `DRAM.get_config()` (its `variant` is a DRAM variant)."""
    return config.get("variant") in DRAM_VARIANTS


def model_from_config(config):
    """The model described by `config`, a `get_config()` dict (e.g. read back from JSON).

    A `SaccaderClassNet` when `config` has its `"saccader"` and `"classifier"` entries
    (`model_dir/classnet_config.json`), a `DRAM` when `config["variant"]` is a DRAM variant
    (`DRAM_VARIANTS`), else a `Saccader` (`model_dir/model_config.json`).

    Args:
        config: a dict from `get_config()`.

    Returns:
        The unbuilt model.
    """
    if is_classnet_config(config):
        return SaccaderClassNet.from_config(config)
    cls = DRAM if is_dram_config(config) else Saccader
    return cls.from_config(config)


def load_trained_model(model_dir):
    """The final model of `model_dir`, built, with its final weights.

    Args:
        model_dir: a run's directory: `classnet_config.json` + `stage4/saccader.weights.h5` for a
            Saccader-ClassNet, else `model_config.json` + `stage3/saccader.weights.h5` (a Saccader
            or a DRAM).

    Returns:
        The built model (`SaccaderClassNet`, `Saccader` or `DRAM`) holding those weights.

    Raises:
        MissingCheckpointError: the config or the final checkpoint does not exist; the message
            names the command that trains it.
        CorruptCheckpointError: one of them is damaged.
    """
    classnet = load_classnet_config(model_dir)
    config, stage, command = (
        _classnet_checkpoint(model_dir, classnet)
        if classnet is not None
        else _model_checkpoint(model_dir)
    )
    # The stage-4 file holds the trained classifier: the local file it started from is not needed.
    try:
        model = model_from_config({**config, "classifier_weights": None} if classnet else config)
    except (TypeError, ValueError, KeyError) as error:
        record = os.path.join(model_dir, CLASSNET_CONFIG_FILE if classnet else CONFIG_FILE)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CorruptCheckpointError(
            f"{record} does not describe a model this version can build ({reason}): restore it "
            f"from a copy, or train the model again in a new --model_dir. Received: path={record}"
        ) from None
    # Called once in inference mode: a custom `train_step` can leave a model unbuilt.
    size, channels = model.image_size, model.input_channels
    model(tf.zeros([1, size, size, channels], tf.float32), training=False)
    load_stage_weights(model, stage_weights_path(model_dir, stage), command)
    return model


def _model_checkpoint(model_dir):
    """`(config, 3, fix)` of the Saccader or DRAM of `model_dir`, once its files exist."""
    config = load_model_config(model_dir)
    path = stage_weights_path(model_dir, 3)
    if not files.exists(path):
        raise MissingCheckpointError(
            f"Export needs the final (stage-3) checkpoint {path}, which does not exist. Run all "
            f"three training stages with --model_dir={model_dir} first (stage 3 writes it)."
        )
    fix = (
        f"train stage 3 again (`python -m saccader_tf.launch --stage=3 --retrain "
        f"--model_dir={model_dir}` with the flags of that run)"
    )
    return config, 3, fix


def _classnet_checkpoint(model_dir, config):
    """`(config, 4, fix)` of the Saccader-ClassNet recorded as `config`, once its file exists."""
    path = stage_weights_path(model_dir, 4)
    classifier = config.get("classifier")
    flag = f" --classifier={classifier}" if isinstance(classifier, str) else ""
    command = f"python -m saccader_tf.launch --stage=4{flag} --model_dir={model_dir}"
    if not files.exists(path):
        raise MissingCheckpointError(
            f"{model_dir} holds a Saccader-ClassNet ({CLASSNET_CONFIG_FILE}) whose stage-4 "
            f"checkpoint {path} does not exist. Train it with `{command}` (and the other flags of "
            "that run)."
        )
    return (
        config,
        4,
        f"train stage 4 again (`{command} --retrain` with the other flags of that run)",
    )
