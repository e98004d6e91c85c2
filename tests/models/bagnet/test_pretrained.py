"""`pretrained_bagnet`: the preprocessing record, published names and their hashes, and the
one-line errors for a wrong variant/file pair (the numbers are in test_brendel_layout.py)."""

import hashlib
import shutil

import numpy as np
import pytest
import torch

from saccader_tf.data.normalization import IMAGENET_MEAN, IMAGENET_STD
from saccader_tf.data.preprocessing import CROP_FRACTION, RECIPES
from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.pretrained import pretrained_bagnet
from saccader_tf.models.bagnet.weight_errors import WeightsFileError
from saccader_tf.utils.errors import UserError
from tests.support.torch_bagnet import TorchBagNet, logits, random_bagnet


@pytest.fixture(scope="module")
def states():
    """Untrained state dicts of our PyTorch BagNet-9 and -33 (NumPy arrays)."""
    torch.manual_seed(0)
    return {
        v: {k: t.numpy() for k, t in TorchBagNet(v).state_dict().items()}
        for v in ("bagnet9", "bagnet33")
    }


def _save(state, path):
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, path)
    return path


def _one_line_user_error(raised):
    assert isinstance(raised.value, UserError)
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_preprocessing_record_is_rgb_imagenet_normalisation(states):
    model, record = pretrained_bagnet(states["bagnet9"], variant="bagnet9")
    assert isinstance(model, BagNet) and model.num_classes == 1000
    assert record["channels"] == 3 and record["color"] == "RGB"
    assert record["scale"] == pytest.approx(1 / 255)
    np.testing.assert_allclose(record["mean"], IMAGENET_MEAN)
    np.testing.assert_allclose(record["std"], IMAGENET_STD)
    assert record["recipe"] in RECIPES and record["crop_fraction"] == CROP_FRACTION
    assert record["image_size"] == 224 and record["class_names"] is None
    assert record["weights"] == {
        "file": "the given state dict",
        "sha256": None,
        "variant": "bagnet9",
    }


def test_a_published_name_with_the_right_hash_loads_and_is_recorded(states, tmp_path):
    path = _save(states["bagnet9"], str(tmp_path / "download.pth"))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    published = str(tmp_path / f"bagnet8-{digest[:8]}.pth.tar")
    shutil.copy(path, published)
    _, record = pretrained_bagnet(published, variant="bagnet9")
    assert record["weights"] == {"file": published, "sha256": digest, "variant": "bagnet9"}


def test_a_published_name_with_another_hash_is_refused(states, tmp_path):
    path = _save(states["bagnet9"], str(tmp_path / "bagnet8-00000000.pth.tar"))
    with pytest.raises(WeightsFileError) as raised:
        pretrained_bagnet(path, variant="bagnet9")
    message = _one_line_user_error(raised)
    assert "not 00000000 as its name says" in message and path in message


def test_a_published_name_of_another_variant_names_both(states, tmp_path):
    path = _save(states["bagnet9"], str(tmp_path / "bagnet32-2ddd53ed.pth.tar"))
    with pytest.raises(WeightsFileError) as raised:
        pretrained_bagnet(path, variant="bagnet9")
    message = _one_line_user_error(raised)
    assert "published bagnet32 (our bagnet33), not bagnet9" in message
    assert "variant=bagnet33" in message


def test_tensors_of_another_variant_name_both(states, tmp_path):
    path = _save(states["bagnet33"], str(tmp_path / "mine.pth"))
    for variant in ("bagnet9", "bagnet17"):
        with pytest.raises(WeightsFileError) as raised:
            pretrained_bagnet(path, variant=variant)
        message = _one_line_user_error(raised)
        assert f"mine.pth holds bagnet33 weights (published as bagnet32), not {variant}" in message


def test_unknown_variant_and_foreign_state_dicts(states):
    with pytest.raises(WeightsFileError, match=r"Received: variant='bagnet77_lowd'"):
        pretrained_bagnet(states["bagnet9"], variant="bagnet77_lowd")
    with pytest.raises(WeightsFileError, match="no state dict of a Brendel BagNet"):
        pretrained_bagnet({"features.0.weight": np.zeros((64, 3, 3, 3))}, variant="bagnet9")
    without_bias = {k: v for k, v in states["bagnet9"].items() if k != "fc.bias"}
    with pytest.raises(WeightsFileError, match=r"missing \['fc.bias'\]"):
        pretrained_bagnet(without_bias, variant="bagnet9")
    wrong_shape = dict(states["bagnet9"], **{"layer1.0.bn1.weight": np.ones(65, np.float32)})
    with pytest.raises(WeightsFileError, match=r"layer1.0.bn1.weight has shape \(65,\)"):
        pretrained_bagnet(wrong_shape, variant="bagnet9")


def test_a_fine_tuned_head_keeps_its_class_count():
    torch_model = random_bagnet("bagnet9", seed=2)
    state = {k: v.numpy() for k, v in torch_model.state_dict().items()}
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:10], state["fc.bias"][:10]
    model, _ = pretrained_bagnet(state, variant="bagnet9")
    images = np.random.default_rng(2).uniform(-2, 2, (2, 64, 64, 3)).astype("float32")
    expected = logits(torch_model, images)[:, :10]
    got = np.asarray(model(images)["logits"])
    assert got.shape == (2, 10)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_from_pytorch_is_the_same_import(states, tmp_path):
    path = _save(states["bagnet9"], str(tmp_path / "w.pth"))
    model = BagNet.from_pytorch(path, variant="bagnet9", image_size=64)
    assert model.image_size == 64 and model.shortcut_crop == "bottom_right"
    kernel = model.get_layer("stem_conv3x3").kernel
    np.testing.assert_array_equal(kernel, states["bagnet9"]["conv2.weight"].transpose(2, 3, 1, 0))


def _torch_features(torch_model, images):
    """The PyTorch model's last features `[B, h, w, 2048]` (NHWC), computed layer by layer."""
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        x = torch.relu(torch_model.bn1(torch_model.conv2(torch_model.conv1(x))))
        for g in range(1, 5):
            x = getattr(torch_model, f"layer{g}")(x)
        return x.permute(0, 2, 3, 1).numpy()


def test_load_into_a_saccaders_representation_keeps_a_fresh_head(tmp_path):
    from saccader_tf.models.bagnet.pretrained import BRENDEL_BAGNET_KWARGS, load_into
    from saccader_tf.models.saccader.saccader import Saccader

    torch_model = random_bagnet("bagnet9", seed=6)
    path = _save({k: v.numpy() for k, v in torch_model.state_dict().items()}, str(tmp_path / "w"))
    saccader = Saccader(
        num_classes=10, variant="bagnet9", image_size=64, bagnet_kwargs=BRENDEL_BAGNET_KWARGS
    )
    bagnet = saccader.representation
    fresh_head = np.array(bagnet.get_layer("patch_logits").kernel)
    record = load_into(bagnet, path)
    assert record["weights"]["head"] is False and record["weights"]["variant"] == "bagnet9"
    np.testing.assert_array_equal(bagnet.get_layer("patch_logits").kernel, fresh_head)
    images = np.random.default_rng(6).uniform(-2, 2, (2, 64, 64, 3)).astype("float32")
    expected = _torch_features(torch_model, images)
    got = np.asarray(bagnet(images)["features"])
    assert got.shape == expected.shape == (2, 7, 7, 2048)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()
    with pytest.raises(ValueError, match="shortcut_crop='bottom_right'"):
        load_into(BagNet(num_classes=1000, variant="bagnet9"), path)
