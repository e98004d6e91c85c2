"""Checks of the pretrained-weight settings (`bagnet_weights`, `classifier_weights=imagenet`),
part of `RunSettings.validate` (`saccader_tf.run.validate`): they read only the settings, the
weights file's name and, for a converted `.weights.h5`, the JSON written beside it."""

import json
import os

from saccader_tf.models.bagnet.brendel_layout import PUBLISHED, PUBLISHED_NAME
from saccader_tf.run.settings_error import ARG, SettingsError

WEIGHTS_ENDINGS = (".pth", ".pth.tar", ".pt", ".npz", ".safetensors", ".weights.h5")
"""The file endings `bagnet_weights` takes."""
KERAS_WEIGHTS_ENDING = ".weights.h5"
IMAGENET = "imagenet"
"""`classifier_weights=imagenet`: keras.applications' ImageNet weights."""
IMAGENET_CLASSIFIERS = ("resnet50_v2", "nasnet_large")
"""The ClassNet classifiers that have keras.applications ImageNet weights."""


def converted_config_path(path):
    """The JSON that `python -m saccader_tf.convert` writes beside `X.weights.h5`: `X.json`."""
    return path[: -len(KERAS_WEIGHTS_ENDING)] + ".json"


def check_pretrained(settings, stage):
    """`bagnet_weights`: a file of a known kind, of the `model` variant, for a Saccader's training
    stages on RGB data; `classifier_weights=imagenet`: a classifier that has such weights."""
    check_classifier_imagenet(settings)
    path = settings.bagnet_weights
    if path is None:
        return
    if settings.architecture == "dram":
        raise SettingsError(
            f"{ARG}bagnet_weights starts a Saccader's (or ClassNet's) stage 1 from a BagNet; DRAM "
            f"has none. Drop it or use {ARG}architecture=saccader. "
            f"Received: {ARG}bagnet_weights={path}"
        )
    if stage in ("eval", "export", "4"):
        raise SettingsError(
            f"{ARG}bagnet_weights applies to the training of stages 1-3 ({ARG}stage=1, 2, 3 or "
            f"all); {ARG}stage={stage} uses what model_dir holds: drop it. "
            f"Received: {ARG}bagnet_weights={path}"
        )
    if not path.endswith(WEIGHTS_ENDINGS) or not os.path.isfile(path):
        raise SettingsError(
            f"{ARG}bagnet_weights must name an existing {'/'.join(WEIGHTS_ENDINGS)} file. "
            f"Received: {ARG}bagnet_weights={path}"
        )
    file_variant = _file_variant(path)
    if settings.model not in PUBLISHED or file_variant not in (None, settings.model):
        holds = (
            f"{path} holds {file_variant} weights"
            if file_variant
            else (f"Pretrained BagNet weights exist for {', '.join(PUBLISHED)}")
        )
        fix = f"{ARG}model={file_variant}" if file_variant else "one of them"
        raise SettingsError(
            f"{holds}, not {ARG}model={settings.model}: use {fix}. "
            f"Received: {ARG}bagnet_weights={path} {ARG}model={settings.model}"
        )
    check_rgb_data(settings)


def check_rgb_data(settings):
    """The weights take RGB images: 3 channels of a folder, TFRecord or TFDS dataset."""
    if settings.dataset == "cluttered_mnist" or settings.channels == "1":
        what = (
            "the built-in cluttered_mnist has one channel"
            if settings.dataset == "cluttered_mnist"
            else f"{ARG}channels=1 makes them gray"
        )
        raise SettingsError(
            f"{ARG}bagnet_weights needs RGB images (3 channels, ImageNet mean/std) and {what}: "
            f"drop {ARG}channels or use {ARG}channels=3 with {ARG}dataset=folder:PATH, "
            f"tfrecord:PATH or a TFDS dataset. Received: {ARG}bagnet_weights="
            f"{settings.bagnet_weights} {ARG}dataset={settings.dataset} "
            f"{ARG}channels={settings.channels}"
        )


def check_classifier_imagenet(settings):
    """`classifier_weights=imagenet` only for the keras.applications classifiers."""
    if settings.classifier_weights == IMAGENET and settings.classifier not in IMAGENET_CLASSIFIERS:
        raise SettingsError(
            f"{ARG}classifier_weights=imagenet loads keras.applications' ImageNet weights, which "
            f"exist for {ARG}classifier={' or '.join(IMAGENET_CLASSIFIERS)}. "
            f"Received: {ARG}classifier={settings.classifier}"
        )


def _file_variant(path):
    """Our variant of the weights file `path` as its name (a published name) or its converter
    JSON says, or `None` when neither says."""
    match = PUBLISHED_NAME.match(os.path.basename(path))
    if match:
        ours = {number: variant for variant, number in PUBLISHED.items()}
        return ours.get(int(match.group(1)), f"bagnet{match.group(1)} (unknown)")
    if path.endswith(KERAS_WEIGHTS_ENDING):
        config = converted_config_path(path)
        try:
            with open(config) as f:
                return json.load(f)["model"]["variant"]
        except (OSError, ValueError, KeyError, TypeError):
            raise SettingsError(
                f"{ARG}bagnet_weights={path} needs the {config} that python -m "
                "saccader_tf.convert writes beside it (the model's config): convert the file "
                f"again. Received: {ARG}bagnet_weights={path}"
            ) from None
    return None
