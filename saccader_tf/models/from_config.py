"""Rebuilding a trained model (Saccader or DRAM) from the config recorded in its model_dir."""

from saccader_tf.models.dram import DRAM, DRAM_VARIANTS
from saccader_tf.models.saccader import Saccader


def model_from_config(config):
    """A `DRAM` when `config["variant"]` is a DRAM variant (`DRAM_VARIANTS`), else a `Saccader`.

    Args:
        config: a dict from `get_config()` (e.g. `model_dir/model_config.json`).

    Returns:
        The unbuilt model.
    """
    cls = DRAM if config.get("variant") in DRAM_VARIANTS else Saccader
    return cls.from_config(config)
