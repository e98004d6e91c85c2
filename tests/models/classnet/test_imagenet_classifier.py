"""`classifier_weights="imagenet"`: keras.applications' ImageNet features (no top, average
pooling) and a fresh logits layer, fed the glimpses as those weights were trained (pixels in
[-1, 1]); `from_config` rebuilds the structure without a download. The application class is
replaced by a recorder where a download would happen (no network)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.classnet.imagenet_inputs import ImagenetInputs
from saccader_tf.models.saccader.saccader import Saccader
from tests.support.layer_checks import run_layer_checks

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PIXELS = np.array([[0.0, 127.5, 255.0], [51.0, 204.0, 25.5]], np.float32)  # two RGB pixels
EXPECTED = np.array([[-1.0, 0.0, 1.0], [-0.6, 0.6, -0.8]], np.float32)  # pixel / 127.5 - 1


def _normalised(pixels):
    """The data sources' normalisation, written out: (pixel / 255 - mean) / std."""
    return ((pixels / 255.0 - np.array(MEAN)) / np.array(STD)).astype(np.float32)


def _saccader(channels=3):
    return Saccader(num_classes=3, image_size=28, variant="bagnet9_tiny", input_channels=channels)


def test_imagenet_weights_ask_keras_for_the_feature_network(monkeypatch):
    calls, original = [], keras.applications.ResNet50V2

    def recorder(**kwargs):
        calls.append(kwargs)
        return original(**{**kwargs, "weights": None})

    monkeypatch.setattr(keras.applications, "ResNet50V2", recorder)
    net = SaccaderClassNet(
        _saccader(),
        "resnet50_v2",
        classifier_image_size=32,
        classifier_weights="imagenet",
        input_mean=MEAN,
        input_std=STD,
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
            input_mean=(0.5,),
            input_std=(0.5,),
        )
    with pytest.raises(ValueError, match="needs `input_mean` and `input_std`"):
        SaccaderClassNet(_saccader(), "resnet50_v2", 32, classifier_weights="imagenet")


@pytest.mark.parametrize("application", ["resnet50_v2", "nasnet_large"])
def test_normalised_glimpses_become_the_pixels_the_imagenet_weights_expect(application):
    layer = ImagenetInputs(application, MEAN, STD)
    got = keras.ops.convert_to_numpy(layer(_normalised(PIXELS)))
    np.testing.assert_allclose(got, EXPECTED, atol=1e-5)


class ImagenetInputsLayerTest(tf.test.TestCase):
    def test_shared_layer_checks(self):
        run_layer_checks(
            self,
            ImagenetInputs,
            {"application": "resnet50_v2", "mean": MEAN, "std": STD},
            np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32"),
            check_fit=False,
        )

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "application"):
            ImagenetInputs("vgg16", MEAN, STD)
        with self.assertRaisesRegex(ValueError, "one value per channel"):
            ImagenetInputs("resnet50_v2", MEAN, (0.2, 0.2))


def test_the_imagenet_classifier_feeds_its_features_pixels_in_minus_one_to_one(monkeypatch):
    def spatial_mean(**kwargs):  # stands in for the application: its features = its input's mean
        inputs = keras.Input(kwargs["input_shape"])
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))

    monkeypatch.setattr(keras.applications, "ResNet50V2", spatial_mean)
    net = SaccaderClassNet(
        _saccader(),
        "resnet50_v2",
        classifier_image_size=32,
        classifier_weights="imagenet",
        input_mean=MEAN,
        input_std=STD,
    )
    features = net.classifier.get_layer("logits").input  # what the application gave
    probe = keras.Model(net.classifier.input, features)
    image = np.tile(_normalised(PIXELS[:1])[None, None], (1, 32, 32, 1))  # [1, 32, 32, 3]
    got = keras.ops.convert_to_numpy(probe(image))
    np.testing.assert_allclose(got[0], EXPECTED[0], atol=1e-5)
    assert net.get_config()["input_mean"] == list(MEAN)
