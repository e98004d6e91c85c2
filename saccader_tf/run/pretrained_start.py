"""Stage 1 from Brendel & Bethge's ImageNet BagNet weights (`--bagnet_weights`, docs/pretrained.md).

A run given `bagnet_weights` builds its Saccader with the published layout
(`BRENDEL_BAGNET_KWARGS`, recorded in `model_config.json`) and either

- trains stage 1 from the weights (`--stage=1` or `all`: fine-tuning; when the data has other
  classes than the file, the logits layer keeps its fresh weights and the features are loaded), or
- takes them as stage 1's result (`--stage=2`, or 3 with `skip_stage2`, when stage 1 has not been
  trained and the file's classes are the data's): stage 1's file is written from them, with its
  SHA-256, and the later stages start from it as from a trained stage 1.

Either way `model_dir/stage1/origin.json` records where stage 1 came from:

    {"how": "imported" | "fine-tuned from", "file": "...", "sha256": "...", "variant": "bagnet9"}

A model_dir with that record keeps the published layout, 3 channels and the `imagenet` recipe as
the default of `--augment` in every later run (`pretrained_settings`), with or without the flag.
"""

import dataclasses
import os
import sys

from saccader_tf.data.tfds_download import PROBE_HOST, network_reachable
from saccader_tf.model_dir import files, stage_files
from saccader_tf.model_dir.records import (
    CONFIG_FILE,
    load_model_config,
    read_json_record,
    write_json_record,
)
from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.brendel_layout import (
    BRENDEL_BAGNET_KWARGS,
    load_into,
    read_pretrained,
    state_dict_of,
)
from saccader_tf.run.pretrained_checks import (
    IMAGENET,
    KERAS_WEIGHTS_ENDING,
    converted_config_path,
)
from saccader_tf.utils.errors import UserError

ORIGIN_FILE = "origin.json"
IMPORTED, FINE_TUNED = "imported", "fine-tuned from"
DEFAULT_AUGMENT = "imagenet"
"""`--augment` when stage 1 comes from the ImageNet weights and the flag is not given: the recipe
the weights were trained with (Inception crops and flips; evaluation centre-crops 0.875)."""


KERAS_IMAGENET_FILES = {
    "resnet50_v2": "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "nasnet_large": "nasnet_large_no_top.h5",
}
"""The files keras.applications downloads (to `$KERAS_HOME/models`, default `~/.keras/models`)
for the ClassNet classifiers' ImageNet features (`include_top=False`)."""


class PretrainedClassesError(UserError, ValueError):
    """The weights cannot be stage 1's result: their classes are not the data's."""


class NoNetworkForWeightsError(UserError, ValueError):
    """`classifier_weights=imagenet` must download the weights and the network is unreachable."""


def check_imagenet_download(settings, stages, reachable=None):
    """Fails at once, before any training, when stage 4 (in `stages`) needs keras.applications'
    ImageNet weights that are not in the Keras cache and the download host cannot be reached.

    Args:
        reachable: the network check, a function of no argument returning a bool (default:
            `network_reachable` of the host TFDS and Keras download from).
    """
    if settings.classifier_weights != IMAGENET or 4 not in stages:
        return
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    cached = os.path.join(home, "models", KERAS_IMAGENET_FILES[settings.classifier])
    if files.exists(cached) or (reachable or network_reachable)():
        return
    raise NoNetworkForWeightsError(
        f"--classifier_weights=imagenet downloads keras.applications' ImageNet weights of "
        f"{settings.classifier} from {PROBE_HOST[0]}, which cannot be reached: copy "
        f"{os.path.basename(cached)} from a machine with network to {cached}, or drop "
        "--classifier_weights."
    )


def origin_path(model_dir):
    """Path of the record of where stage 1 came from."""
    return os.path.join(model_dir, "stage1", ORIGIN_FILE)


def read_origin(model_dir):
    """The record of `origin_path` (a dict), or `None` when stage 1 was trained from scratch."""
    path = origin_path(model_dir)
    if not files.exists(path):
        return None
    return read_json_record(path, "delete it if stage 1 was trained from scratch")


def origin_line(model_dir):
    """One line saying where stage 1 of `model_dir` came from, or `None` (trained from scratch)."""
    origin = read_origin(model_dir)
    if origin is None:
        return None
    return (
        f"stage 1: {origin.get('how')} {origin.get('file')} ({origin.get('variant')}, SHA-256 "
        f"{str(origin.get('sha256'))[:12]}...; {origin_path(model_dir)})"
    )


def uses_pretrained(settings):
    """Whether the run's stage 1 comes (or came) from BagNet weights: the flag, or the record."""
    return bool(settings.bagnet_weights) or files.exists(origin_path(settings.model_dir))


def pretrained_model_options(settings):
    """The Saccader's extra constructor arguments: the published layout with `bagnet_weights`,
    else the BagNet options model_dir records (a model_dir trained from the weights keeps their
    layout), else none."""
    if settings.bagnet_weights:
        return {"bagnet_kwargs": dict(BRENDEL_BAGNET_KWARGS)}
    if not files.exists(os.path.join(settings.model_dir, CONFIG_FILE)):
        return {}
    recorded = load_model_config(settings.model_dir).get("bagnet_kwargs")
    return {"bagnet_kwargs": dict(recorded)} if recorded else {}


def pretrained_settings(settings):
    """`settings` with 3 channels and `--augment` defaulting to `DEFAULT_AUGMENT` when stage 1
    comes from BagNet weights (unchanged otherwise).

    Raises:
        PretrainedClassesError: `channels=1` on a model_dir whose stage 1 came from the weights.
    """
    if not uses_pretrained(settings) or settings.dataset == "cluttered_mnist":
        return settings
    if settings.channels == "1":
        raise PretrainedClassesError(
            f"stage 1 of {settings.model_dir} comes from RGB BagNet weights "
            f"({origin_path(settings.model_dir)}): drop --channels=1."
        )
    augment = settings.augment or DEFAULT_AUGMENT
    return dataclasses.replace(settings, channels="3", augment=augment)


def read_bagnet_weights(path, variant):
    """`(state_dict, preprocessing)` of a Brendel file (`.pth`, `.npz`, `.safetensors`) or of a
    `.weights.h5` written by `python -m saccader_tf.convert`; `preprocessing["weights"]` names
    the file, its SHA-256 and the variant."""
    if not path.endswith(KERAS_WEIGHTS_ENDING):
        return read_pretrained(path, variant)
    record = read_json_record(converted_config_path(path), "convert the weights file again")
    bagnet = BagNet.from_config(record["model"])
    bagnet.load_weights(path)
    state, preprocessing = read_pretrained(state_dict_of(bagnet), variant)
    preprocessing["weights"] = {
        "file": path,
        "sha256": stage_files.file_sha256(path),
        "variant": variant,
    }
    return state, preprocessing


def start_from_weights(settings, model, first_stage, parent, chief):
    """Loads `settings.bagnet_weights` into `model` (a Saccader) as the run needs, before the
    stages are decided: for `first_stage` 1 to fine-tune it (when stage 1 trains), for a first
    stage whose `parent` is 1 as stage 1's result (when stage 1 is not on disk yet).

    Under multi-worker training every worker loads the file itself and only the `chief` writes
    (stage 1's file and `origin.json`); so a worker that imported stage 1 holds it in memory and
    must not read stage 1's file, which the chief may still be writing: hence the return value.
    The chief writes `origin.json` before stage 1's file (each atomically), so a worker that
    finds stage 1's file finds its record too and reads the complete file.

    Returns:
        True when `model` now holds stage 1's result imported from the file (the run then skips
        restoring stage 1 from model_dir), else False.

    Raises:
        PretrainedClassesError: stage 1 must be imported, and the file's classes are not the
            data's.
        WeightsFileError: the file cannot be read or holds another variant.
    """
    path, model_dir = settings.bagnet_weights, settings.model_dir
    trains_stage1 = first_stage == 1 and (
        settings.retrain or not stage_files.stage_finished(model_dir, 1)
    )
    if path is None:
        if trains_stage1 and chief and files.exists(origin_path(model_dir)):
            files.remove(origin_path(model_dir))  # stage 1 now trains from scratch
        return False
    if first_stage == 1:
        if not trains_stage1:
            print(
                f"note: stage 1 is already finished in {model_dir}: {path} is not used for it "
                "(--retrain fine-tunes it again from the file).",
                file=sys.stderr,
            )
            return False
        weights = _load(model, path)
        if chief:
            _write_origin(model_dir, FINE_TUNED, weights)
        return False
    if parent != 1:
        return False  # the run starts from a later stage's file
    origin = read_origin(model_dir) if files.exists(origin_path(model_dir)) else None
    if files.exists(stage_files.stage_weights_path(model_dir, 1)):
        if origin is None or origin.get("how") != IMPORTED:
            print(
                f"note: stage 1 is already trained in {model_dir}: {path} is not used for it "
                f"(--stage=1 --retrain --bagnet_weights={path} fine-tunes it from the file).",
                file=sys.stderr,
            )
            return False
        if origin.get("sha256") == stage_files.file_sha256(path):
            return False  # imported from this very file before
    _import_stage1(settings, model, chief)
    return True


def _import_stage1(settings, model, chief):
    """Stage 1's file written from the weights (all of them, head included)."""
    path, model_dir = settings.bagnet_weights, settings.model_dir
    state, _ = read_bagnet_weights(path, model.representation.variant)
    classes = int(state["fc.weight"].shape[0])
    if classes != model.num_classes:
        raise PretrainedClassesError(
            f"{path} classifies {classes} classes and --dataset={settings.dataset} has "
            f"{model.num_classes}, so its logits cannot be stage 1's: fine-tune stage 1 first "
            f"(--stage=1 --bagnet_weights={path}), then run --stage=2."
        )
    weights = _load(model, path, state, say=False)
    if chief:  # the record first: a worker that sees the file sees it (`start_from_weights`)
        _write_origin(model_dir, IMPORTED, weights)
        saved = stage_files.save_stage(model, model_dir, 1)
        print(f"stage 1: imported {path} as {saved} (all weights)", flush=True)


def _load(model, path, state=None, say=True):
    """Loads the file's weights into `model.representation`, says what was loaded in one line;
    returns the `"weights"` entry of the preprocessing record."""
    bagnet = model.representation
    if state is None:
        state, _ = read_bagnet_weights(path, bagnet.variant)
    record = load_into(bagnet, state)
    classes = int(state["fc.weight"].shape[0])
    if not say:
        pass
    elif record["weights"]["head"]:
        print(f"stage 1 starts from {path}: all weights ({classes} classes)", flush=True)
    else:
        print(
            f"stage 1 starts from {path}: features loaded; the logits layer is fresh "
            f"({bagnet.num_classes} classes here, {classes} in the file)",
            flush=True,
        )
    sha256 = stage_files.file_sha256(path)
    return {"file": os.path.abspath(path), "sha256": sha256, "variant": bagnet.variant}


def _write_origin(model_dir, how, weights):
    write_json_record(origin_path(model_dir), {"how": how, **weights}, sort_keys=False)
