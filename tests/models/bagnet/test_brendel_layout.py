"""The import of PyTorch Brendel BagNets: the `bottom_right` shortcut against a NumPy forward of
one block, and whole BagNet-9/17/33 against a PyTorch BagNet (tests/support/torch_bagnet.py) with
random weights and BN statistics, saved in each file format."""

import os

import keras
import numpy as np
import pytest
import safetensors.numpy
import torch

from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.bottleneck import BagNetBottleneck
from tests.support.torch_bagnet import logits, random_bagnet

# Trainable weights of Brendel & Bethge's BagNet-9/17/33 (1000 classes).
PUBLISHED_WEIGHT_COUNTS = {"bagnet9": 15_688_744, "bagnet17": 16_213_032, "bagnet33": 18_310_184}
RELATIVE_TOLERANCE = 1e-4
EPSILON = 1e-5


# ------------------------------------------------------------------ NumPy reference of one block
def np_conv(x, kernel, stride):
    """VALID convolution of NHWC `x` with a `[k, k, C, O]` kernel, as a sum over the taps."""
    k = kernel.shape[0]
    h, w = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], h, w, kernel.shape[-1]))
    for di in range(k):
        for dj in range(k):
            taps = x[:, di : di + stride * h : stride, dj : dj + stride * w : stride][:, :h, :w]
            out += np.einsum("bhwc,co->bhwo", taps, kernel[di, dj])
    return out


def np_bn(x, p):
    return (x - p["mean"]) / np.sqrt(p["var"] + EPSILON) * p["gamma"] + p["beta"]


def np_brendel_block(x, params, kernel_size, stride):
    """Brendel's bottleneck: the shortcut is the whole input (projected when present), then its
    bottom rows and right columns are dropped to the residual's size."""
    y = np.maximum(np_bn(np_conv(x, params["conv1"], 1), params["bn1"]), 0)
    y = np.maximum(np_bn(np_conv(y, params["conv2"], stride), params["bn2"]), 0)
    y = np_bn(np_conv(y, params["conv3"], 1), params["bn3"])
    shortcut = x
    if "shortcut_conv" in params:
        shortcut = np_bn(np_conv(x, params["shortcut_conv"], stride), params["shortcut_bn"])
    return np.maximum(y + shortcut[:, : y.shape[1], : y.shape[2]], 0)


def random_block_params(block, rng):
    """Random kernels and BN parameters/statistics for every sub-layer of a built block, set on the
    block and returned for the NumPy forward."""
    params = {}
    for name in ("conv1", "conv2", "conv3", "shortcut_conv"):
        if hasattr(block, name):
            kernel = getattr(block, name).kernel
            params[name] = rng.normal(0, 0.5, kernel.shape)
            kernel.assign(params[name].astype("float32"))
    for name in ("bn1", "bn2", "bn3", "shortcut_bn"):
        if hasattr(block, name):
            bn, n = getattr(block, name), getattr(block, name).gamma.shape[0]
            params[name] = {
                "gamma": rng.uniform(0.5, 1.5, n),
                "beta": rng.normal(0, 0.3, n),
                "mean": rng.normal(0, 0.3, n),
                "var": rng.uniform(0.5, 2.0, n),
            }
            for ours, key in (("gamma", "gamma"), ("beta", "beta")):
                getattr(bn, ours).assign(params[name][key].astype("float32"))
            bn.moving_mean.assign(params[name]["mean"].astype("float32"))
            bn.moving_variance.assign(params[name]["var"].astype("float32"))
    return params


@pytest.mark.parametrize(
    "in_channels, filters, kernel_size, stride, side",
    [
        (8, 4, 3, 2, 9),  # strided projection, odd side
        (8, 4, 3, 2, 10),  # strided projection, even side
        (16, 4, 3, 1, 7),  # identity shortcut cut by 2 at the bottom/right
        (8, 4, 3, 1, 7),  # stride-1 projection (channels change), cut by 2
        (8, 4, 1, 2, 8),  # 1x1 block with a strided projection, nothing to cut
    ],
)
def test_bottom_right_block_equals_the_numpy_forward(
    in_channels, filters, kernel_size, stride, side
):
    rng = np.random.default_rng(side * 10 + stride)
    block = BagNetBottleneck(
        filters=filters, kernel_size=kernel_size, strides=stride, shortcut_crop="bottom_right"
    )
    x = rng.normal(size=(2, side, side, in_channels))
    block(x.astype("float32"))  # builds
    params = random_block_params(block, rng)
    expected = np_brendel_block(x, params, kernel_size, stride)
    got = keras.ops.convert_to_numpy(block(x.astype("float32"), training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    centre = BagNetBottleneck(filters=filters, kernel_size=kernel_size, strides=stride)
    centre(x.astype("float32"))
    centre.set_weights(block.get_weights())
    if kernel_size == 3:  # the default layout gives other numbers
        assert np.abs(keras.ops.convert_to_numpy(centre(x, training=False)) - expected).max() > 1e-2


def test_bottom_right_projection_reads_the_top_left_pixel_of_each_window():
    block = BagNetBottleneck(filters=2, kernel_size=3, strides=2, shortcut_crop="bottom_right")
    images = np.arange(1, 1 + 7 * 7 * 8, dtype="float32").reshape(1, 7, 7, 8)
    block(images)
    block.bn3.gamma.assign(np.zeros(8, "float32"))  # residual branch gives 0
    block.shortcut_conv.kernel.assign(np.eye(8, dtype="float32")[None, None])
    block.shortcut_bn.moving_variance.assign(np.full(8, 1 - EPSILON, "float32"))
    out = keras.ops.convert_to_numpy(block(images, training=False))
    # A 7x7 input gives a 3x3 output; cell (i, j) covers rows 2i..2i+2: its top-left is (2i, 2j).
    np.testing.assert_allclose(out, images[:, 0:6:2, 0:6:2, :], rtol=1e-6)


# ------------------------------------------------------------------ whole models against torch
def _save(state_dict, fmt, folder):
    if fmt in ("zip", "legacy"):
        path = os.path.join(folder, "w.pth")
        torch.save(state_dict, path, _use_new_zipfile_serialization=fmt == "zip")
        return path
    arrays = {k: v.numpy() for k, v in state_dict.items()}
    path = os.path.join(folder, f"w.{fmt}")
    if fmt == "npz":
        np.savez(path, **arrays)
    else:
        safetensors.numpy.save_file(arrays, path)
    return path


def check_import(variant, fmt, folder, seed=0):
    torch_model = random_bagnet(variant, seed=seed)
    assert sum(p.numel() for p in torch_model.parameters()) == PUBLISHED_WEIGHT_COUNTS[variant]
    model = BagNet.from_pytorch(_save(torch_model.state_dict(), fmt, folder), variant=variant)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == PUBLISHED_WEIGHT_COUNTS[variant]
    rng = np.random.default_rng(seed)
    for size in (64, 77):  # an odd size catches a wrong crop side
        images = rng.uniform(-2, 2, (2, size, size, 3)).astype("float32")
        expected = logits(torch_model, images)
        got = keras.ops.convert_to_numpy(model(images)["logits"])
        assert got.shape == (2, 1000)
        scale = np.abs(expected).max()
        assert np.abs(expected[0] - expected[1]).max() > 0.05 * scale  # logits follow the image
        assert np.abs(got - expected).max() <= RELATIVE_TOLERANCE * scale, (variant, fmt, size)
    return model, torch_model


def test_bagnet9_equals_pytorch_from_a_legacy_file(tmp_path):
    check_import("bagnet9", "legacy", str(tmp_path))  # the format of the published files


def test_bagnet33_equals_pytorch_from_a_zip_file(tmp_path):
    model, _ = check_import("bagnet33", "zip", str(tmp_path), seed=3)
    config = model.get_config()
    assert (config["shortcut_crop"], config["stem_bn_momentum"]) == ("bottom_right", 0.999)
    assert model.get_layer("stem_bn").momentum == 0.999  # PyTorch momentum 0.001
    norms = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 53 and {bn.epsilon for bn in norms} == {EPSILON}


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant, fmt",
    [
        ("bagnet9", "zip"),
        ("bagnet17", "legacy"),
        ("bagnet17", "safetensors"),
        ("bagnet33", "legacy"),
        ("bagnet33", "npz"),
    ],
)
def test_every_variant_and_format_equals_pytorch(variant, fmt, tmp_path):
    check_import(variant, fmt, str(tmp_path), seed=5)


def test_the_centre_cropped_layout_would_not_match(tmp_path):
    from saccader_tf.models.bagnet.brendel_layout import assign_weights

    torch_model = random_bagnet("bagnet9", seed=1)
    state = {k: v.numpy() for k, v in torch_model.state_dict().items()}
    model = BagNet(num_classes=1000, variant="bagnet9")  # shortcut_crop="center"
    assign_weights(model, state, "the state dict")
    images = np.random.default_rng(1).uniform(-2, 2, (2, 64, 64, 3)).astype("float32")
    expected = logits(torch_model, images)
    error = np.abs(keras.ops.convert_to_numpy(model(images)["logits"]) - expected).max()
    assert error > 100 * RELATIVE_TOLERANCE * np.abs(expected).max()
