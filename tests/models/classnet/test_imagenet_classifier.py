"""`classifier_weights="imagenet"`: keras.applications' ImageNet features (no top, average
pooling) and a fresh logits layer; `from_config` rebuilds the structure without a download. The
application class is replaced by a recorder where a download would happen (no network)."""

import keras
import pytest

from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.saccader.saccader import Saccader


def _saccader(channels=3):
    return Saccader(num_classes=3, image_size=28, variant="bagnet9_tiny", input_channels=channels)


def test_imagenet_weights_ask_keras_for_the_feature_network(monkeypatch):
    calls, original = [], keras.applications.ResNet50V2

    def recorder(**kwargs):
        calls.append(kwargs)
        return original(**{**kwargs, "weights": None})

    monkeypatch.setattr(keras.applications, "ResNet50V2", recorder)
    net = SaccaderClassNet(
        _saccader(), "resnet50_v2", classifier_image_size=32, classifier_weights="imagenet"
    )
    assert calls[0]["weights"] == "imagenet" and calls[0]["include_top"] is False
    assert calls[0]["pooling"] == "avg" and calls[0]["input_shape"] == (32, 32, 3)
    logits = net.classifier.get_layer("logits")
    assert logits.units == 3 and net.classifier.output.shape == (None, 3)
    config = net.get_config()
    assert config["classifier_weights"] == "imagenet" and "download_weights" not in config
    rebuilt = SaccaderClassNet.from_config(config)
    assert calls[1]["weights"] is None  # no second download: the weights are loaded after
    assert rebuilt.classifier.count_params() == net.classifier.count_params()
    assert rebuilt.get_config() == config


def test_imagenet_weights_need_an_application_classifier_and_rgb():
    with pytest.raises(ValueError, match="needs one of"):
        SaccaderClassNet(_saccader(), "small_cnn", 28, classifier_weights="imagenet")
    with pytest.raises(ValueError, match="3-channel"):
        SaccaderClassNet(
            _saccader(channels=1),
            "resnet50_v2",
            32,
            classifier_weights="imagenet",
            download_weights=False,
        )
