"""The checks of `--bagnet_weights` and `--classifier_weights=imagenet`: one line each, naming the
flags and the fix; the offline check of the ImageNet classifier download, with the network probe
mocked (nothing reaches the network)."""

import json

import pytest

from saccader_tf.run import pretrained_start
from saccader_tf.run.pretrained_start import NoNetworkForWeightsError, check_imagenet_download
from saccader_tf.run.settings import RunSettings
from saccader_tf.run.settings_error import SettingsError
from saccader_tf.utils.errors import UserError


def _problem(stage="all", **settings):
    try:
        RunSettings(**settings).validate(stage)
    except SettingsError as error:
        message = error.worded("--")
        assert "\n" not in message
        return message
    return None


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "mine.npz"
    path.write_bytes(b"not read by the checks")
    return str(path)


def test_a_weights_file_for_bagnet9_on_an_rgb_folder_is_accepted(weights, tmp_path):
    assert _problem(model="bagnet9", bagnet_weights=weights, dataset=f"folder:{tmp_path}") is None
    assert _problem("2", model="bagnet9", bagnet_weights=weights, dataset="imagenette") is None


def test_a_published_file_of_another_variant_names_both(tmp_path):
    path = tmp_path / "bagnet16-105524de.pth.tar"
    path.write_bytes(b"")
    message = _problem(model="bagnet9", bagnet_weights=str(path), dataset=f"folder:{tmp_path}")
    assert "holds bagnet17 weights, not --model=bagnet9: use --model=bagnet17" in message


def test_a_converted_file_says_its_variant_in_the_json_beside_it(tmp_path):
    path = tmp_path / "b.weights.h5"
    path.write_bytes(b"")
    (tmp_path / "b.json").write_text(json.dumps({"model": {"variant": "bagnet33"}}))
    message = _problem(model="bagnet9", bagnet_weights=str(path), dataset=f"folder:{tmp_path}")
    assert "holds bagnet33 weights, not --model=bagnet9" in message
    (tmp_path / "b.json").unlink()
    message = _problem(model="bagnet9", bagnet_weights=str(path), dataset=f"folder:{tmp_path}")
    assert "needs the" in message and "b.json" in message


def test_variants_without_published_weights_are_refused(weights, tmp_path):
    message = _problem(model="bagnet9_tiny", bagnet_weights=weights, dataset=f"folder:{tmp_path}")
    assert "exist for bagnet9, bagnet17, bagnet33, not --model=bagnet9_tiny" in message


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"channels": "1"}, "--channels=1 makes them gray"),
        ({"dataset": "cluttered_mnist"}, "cluttered_mnist has one channel"),
        ({"architecture": "dram"}, "DRAM has none"),
        ({"bagnet_weights": "w.pt.zip"}, "must name an existing"),
    ],
)
def test_settings_the_weights_cannot_work_with(weights, tmp_path, settings, words):
    base = dict(model="bagnet9", bagnet_weights=weights, dataset=f"folder:{tmp_path}")
    message = _problem(**{**base, **settings})
    assert words in message and "--bagnet_weights" in message


@pytest.mark.parametrize("stage", ["eval", "export", "4"])
def test_stages_that_use_model_dir_refuse_the_flag(weights, tmp_path, stage):
    settings = dict(model="bagnet9", bagnet_weights=weights, dataset=f"folder:{tmp_path}")
    if stage == "4":
        settings["classifier"] = "small_cnn"
    assert "applies to the training of stages 1-3" in _problem(stage, **settings)


def test_imagenet_classifier_weights_need_a_keras_applications_classifier():
    message = _problem(classifier="small_cnn", classifier_weights="imagenet")
    assert "exist for --classifier=resnet50_v2 or nasnet_large" in message
    assert _problem(classifier="resnet50_v2", classifier_weights="imagenet") is None


def _classnet_settings(**changes):
    return RunSettings(classifier="resnet50_v2", classifier_weights="imagenet", **changes)


def test_offline_the_imagenet_download_fails_at_once_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    probes = []

    def offline():
        probes.append(1)
        return False

    with pytest.raises(NoNetworkForWeightsError) as raised:
        check_imagenet_download(_classnet_settings(), [1, 2, 3, 4], reachable=offline)
    assert isinstance(raised.value, UserError) and "\n" not in str(raised.value)
    assert "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(raised.value)
    assert str(tmp_path / "models") in str(raised.value)
    assert probes == [1]
    # The default probe is the TFDS one, mocked here too.
    monkeypatch.setattr(pretrained_start, "network_reachable", offline)
    with pytest.raises(NoNetworkForWeightsError):
        check_imagenet_download(_classnet_settings(), [4])
    assert probes == [1, 1]


def test_no_probe_without_stage4_a_cached_file_or_with_network(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def never():
        raise AssertionError("probed")

    check_imagenet_download(_classnet_settings(), [1, 2, 3], reachable=never)
    check_imagenet_download(RunSettings(classifier="resnet50_v2"), [4], reachable=never)
    check_imagenet_download(_classnet_settings(), [4], reachable=lambda: True)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(
        b""
    )
    check_imagenet_download(_classnet_settings(), [4], reachable=never)
