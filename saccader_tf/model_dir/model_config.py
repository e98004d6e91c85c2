"""Rebuilding a trained model (Saccader, DRAM or Saccader-ClassNet) from its recorded config."""

from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.dram.dram import DRAM, DRAM_VARIANTS
from saccader_tf.models.saccader.saccader import Saccader


def is_classnet_config(config):
    """Whether `config` is a `SaccaderClassNet.get_config()` (it nests the Saccader's config)."""
    return "classifier" in config and "saccader" in config


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
    cls = DRAM if config.get("variant") in DRAM_VARIANTS else Saccader
    return cls.from_config(config)
