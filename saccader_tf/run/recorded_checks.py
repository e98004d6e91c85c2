"""How a run's settings must agree with what its model_dir already records.

A model_dir holds one model: training continues it only with the readout it was started with
(`check_recorded_readout`), and `--stage=all` without `--classifier` does not export a Saccader
over a recorded Saccader-ClassNet (`check_recorded_classifier`). `--stage=eval` with an explicit
`--readout` evaluates the trained weights read out that way (`with_readout_flag`).
`float32_config` is the config model_dir records, whatever the training precision.
`--stage=eval` and `--stage=export` take the model's settings from model_dir
(`recorded_model_settings`) and evaluate only data with the recorded classes
(`check_recorded_classes`).
"""

import dataclasses
import sys

from saccader_tf.model_dir.model_config import is_dram_config
from saccader_tf.model_dir.records import CONFIG_FILE, load_classnet_config, load_model_config
from saccader_tf.utils.errors import BadValueError


def float32_config(model):
    """`model.get_config()` as model_dir records it: float32 (`--mixed_precision` is a training
    setting, so `--stage=eval` and `--stage=export` rebuild the model in float32)."""
    return {**model.get_config(), "dtype": "float32"}


def check_recorded_readout(settings, recorded):
    """Training continues a model_dir only with the readout it was started with (`recorded`: its
    config)."""
    readout = recorded.get("readout", "hard")  # model_dirs from before the option are hard
    if readout != settings.readout:
        raise BadValueError(
            f"{settings.model_dir} holds a model trained with --readout={readout}: "
            "use it again, or a new --model_dir. "
            f"Received: --readout={settings.readout}"
        )


def check_recorded_classifier(settings, stages):
    """`--stage=all` (`stages == settings.stages`) without `--classifier` on a model_dir holding a
    Saccader-ClassNet would export the Saccader over the ClassNet's export: refused, naming the
    recorded classifier."""
    recorded = load_classnet_config(settings.model_dir)
    if recorded is None or settings.classifier != "none" or stages != settings.stages:
        return
    name = recorded.get("classifier")
    raise BadValueError(
        f"{settings.model_dir} holds a Saccader-ClassNet (--classifier={name}): pass "
        "it again to continue with it, or use a new --model_dir for the Saccader "
        "alone. Received: --classifier=none"
    )


def with_readout_flag(settings, model):
    """`--stage=eval` with an explicit `--readout`: the trained weights of the Saccader `model`
    read out that way (an ablation, said on stderr); otherwise `model` as recorded."""
    if not settings.readout_given or model.readout == settings.readout:
        return model
    other = type(model).from_config({**model.get_config(), "readout": settings.readout})
    other.build()
    other.set_weights(model.get_weights())
    print(
        f"note: evaluating with --readout={settings.readout} (trained with "
        f"--readout={model.readout})",
        file=sys.stderr,
    )
    return other


def recorded_model_settings(settings, stage):
    """`settings` with the model settings model_dir records (`model` or `dram_model`,
    `architecture`, `image_size`, `channels`), for `--stage=eval` / `--stage=export` (`stage`).

    Raises:
        BadValueError: a flag given contradicts the record, naming the flag, the recorded value
            and the given one.
    """
    config = load_model_config(settings.model_dir)
    dram = is_dram_config(config)
    recorded = {
        "architecture": "dram" if dram else "saccader",
        "dram_model" if dram else "model": config["variant"],
        "image_size": config["image_size"],
    }
    channels = str(config["input_channels"])
    if settings.given("channels") and settings.channels not in ("auto", channels):
        recorded["channels"] = channels  # refused below
    elif settings.dataset != "cluttered_mnist":  # generated with one channel, no flag
        recorded["channels"] = channels
    for name, value in recorded.items():
        if settings.given(name) and getattr(settings, name) != value:
            raise BadValueError(
                f"{settings.model_dir} holds a model trained with --{name}={value} (recorded in "
                f"{CONFIG_FILE}), which --stage={stage} uses: drop --{name} or pass "
                f"--{name}={value}. Received: --{name}={getattr(settings, name)}"
            )
    return dataclasses.replace(settings, **recorded)


def check_recorded_classes(settings, source):
    """The evaluated data must have the classes of the model model_dir records (`source`: the
    `DataSource` of `--dataset`)."""
    recorded = load_model_config(settings.model_dir)["num_classes"]
    if source.num_classes != recorded:
        raise BadValueError(
            f"--dataset={settings.dataset} has {source.num_classes} classes, but the model in "
            f"{settings.model_dir} was trained on {recorded} (recorded in {CONFIG_FILE}): evaluate "
            f"it on data with the classes it was trained on. Received: --dataset={settings.dataset}"
        )
