"""Everything a run keeps in its `model_dir`, one module per idea:

    stage_files            each stage's weights file with its SHA-256; restoring it
    records                model_config.json and classnet_config.json (recorded, checked, read)
    preprocessing_record   preprocessing.json (how raw images become model inputs, for export)
    lineage                stageN/parent.json (the stage file each stage was trained from)
    model_config           rebuilding a model from its record; `load_trained_model`
    progress               the resumable progress of a running stage
    lock                   one launcher per model_dir (`ModelDirLock`)
    files                  every read and write, on a local disk or any URL tf.io.gfile knows
    errors                 `MissingCheckpointError`, `CorruptCheckpointError`

The public functions are also names of this package (`from saccader_tf import model_dir`,
`model_dir.load_trained_model(path)`), loaded on first use.
"""

import importlib

_EXPORTS = {
    "errors": ("MissingCheckpointError", "CorruptCheckpointError"),
    "stage_files": (
        "WEIGHTS_FILE",
        "stage_weights_path",
        "progress_dir",
        "stage_finished",
        "save_stage",
        "load_stage_weights",
        "restore_stage",
    ),
    "records": (
        "CONFIG_FILE",
        "CLASSNET_CONFIG_FILE",
        "check_model_config",
        "load_model_config",
        "check_classnet_config",
        "load_classnet_config",
        "read_json_record",
        "config_record",
    ),
    "preprocessing_record": ("PREPROCESSING_FILE", "record_preprocessing", "load_preprocessing"),
    "model_config": ("model_from_config", "load_trained_model"),
    "lock": ("ModelDirLock", "ModelDirBusyError"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
