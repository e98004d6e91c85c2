"""Brendel & Bethge's published PyTorch BagNets as Keras `BagNet`s (docs/pretrained.md).

Their `bagnets/pytorchnet.py` BagNet-9/17/33 (published as `bagnet8`, `bagnet16`, `bagnet32`)
has exactly the layers of our `bagnet9`, `bagnet17` and `bagnet33` variants; three details of its
computation are set on the Keras model here:

- every block cuts its shortcut by projecting the whole input and dropping the bottom/right edge
  (`shortcut_crop="bottom_right"`, where ours centre-crops first);
- the stem BN has PyTorch momentum 0.001, i.e. Keras momentum 0.999 (`stem_bn_momentum`); all BNs
  have epsilon 1e-5, as ours;
- its head averages the features over space and then applies the `fc` layer; ours applies the
  same weights at every cell and then averages, which is the same linear map.

State-dict names map to our layers as follows (`g` from 1, `b` from 0; our blocks count from 1):

| PyTorch                           | Keras                                        |
|-----------------------------------|----------------------------------------------|
| `conv1`, `conv2`, `bn1`           | `stem_conv1x1`, `stem_conv3x3`, `stem_bn`    |
| `layer{g}.{b}.conv{i}` / `.bn{i}` | `group{g}_block{b+1}` `conv{i}` / `bn{i}`    |
| `layer{g}.{b}.downsample.0` / `.1`| `group{g}_block{b+1}` `shortcut_conv` / `_bn`|
| `fc`                              | `patch_logits` (a 1x1 convolution)           |

Convolution kernels `[O, I, kh, kw]` become `[kh, kw, I, O]`, the `fc` weight `[K, F]` becomes
`[1, 1, F, K]`; BN `weight`, `bias`, `running_mean`, `running_var` become `gamma`, `beta`,
`moving_mean`, `moving_variance` (`num_batches_tracked` is not used).
"""

import collections.abc
import hashlib
import os
import re

import numpy as np

from saccader_tf.models.bagnet.state_dict_files import load_state_dict
from saccader_tf.models.bagnet.variants import VARIANTS
from saccader_tf.models.bagnet.weight_errors import WeightsFileError

PUBLISHED = {"bagnet9": 8, "bagnet17": 16, "bagnet33": 32}
"""Our variant → the number in the published file names (`bagnet8-34f4ccd2.pth.tar` for our
`bagnet9`, `bagnet16-105524de.pth.tar` for `bagnet17`, `bagnet32-2ddd53ed.pth.tar` for
`bagnet33`)."""
PUBLISHED_NAME = re.compile(r"^bagnet(\d+)-([0-9a-f]{8})\.pth(\.tar)?$")
"""A published file name: `bagnet<N>-<the first 8 hex digits of the file's SHA-256>.pth.tar`."""
STEM_BN_MOMENTUM = 0.999
"""Keras momentum of the stem BN (PyTorch `nn.BatchNorm2d(64, momentum=0.001)`)."""
BRENDEL_BAGNET_KWARGS = {"shortcut_crop": "bottom_right", "stem_bn_momentum": STEM_BN_MOMENTUM}
"""The `BagNet` arguments of the published layout (also `Saccader(bagnet_kwargs=...)`)."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSING = {
    "dataset": "imagenet2012",
    "recipe": "imagenet",
    "channels": 3,
    "color": "RGB",
    "scale": 1.0 / 255.0,
    "mean": list(IMAGENET_MEAN),
    "std": list(IMAGENET_STD),
    "image_size": 224,
    "crop_fraction": 0.875,
    "class_names": None,
}
"""The inputs the published weights expect, in the terms of `model_dir/preprocessing.json`:
RGB, `(x / 255 - mean) / std` with the ImageNet mean and std, and for evaluation the `imagenet`
recipe (centre crop of 0.875 of the shorter side, bilinear resize to 224, as torchvision's
`Resize(256)` + `CenterCrop(224)`). `scale` and `color` are said for readers; `class_names` is
`None` (the files hold no names: index `k` is the `k`-th ImageNet synset in sorted order)."""
_BN = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"))
_BN += (("moving_variance", "running_var"),)
SUPPORTED = tuple(PUBLISHED)


def build_pretrained(model_class, source, variant="bagnet33", *, check_hash=True, **kwargs):
    """A Keras BagNet holding a PyTorch Brendel BagNet's weights, and the preprocessing they need
    (`saccader_tf.models.bagnet.pretrained.pretrained_bagnet` with the class given).

    Args:
        model_class: the class to build (`saccader_tf.models.BagNet` or a subclass).
        source: a weights file (`.pth`, `.pth.tar`, `.npz`, `.safetensors`) or a state dict.
        variant: `"bagnet9"`, `"bagnet17"` or `"bagnet33"`.
        check_hash: check a published file name's SHA-256 prefix (`PUBLISHED_NAME`).
        **kwargs: other constructor arguments of the model (`image_size`, `name`, `dtype`).

    Returns:
        `(model, preprocessing)`: the model (classes and input channels from the file, 1000 and 3
        for the published files) and a copy of `PREPROCESSING` with `"weights"`: the file, its
        SHA-256 (`None` for a dict) and the variant.

    Raises:
        WeightsFileError: unknown variant, wrong hash, a file of another variant (the message
            names both), or tensors that do not fit.
    """
    state, preprocessing = read_pretrained(source, variant, check_hash=check_hash)
    model = model_class(
        num_classes=int(state["fc.weight"].shape[0]),
        variant=variant,
        input_channels=int(state["conv1.weight"].shape[1]),
        **BRENDEL_BAGNET_KWARGS,
        **kwargs,
    )
    assign_weights(model, state, preprocessing["weights"]["file"])
    return model, preprocessing


def load_into(bagnet, source, *, check_hash=True):
    """Sets the weights of a built BagNet of the published layout (e.g. the `representation` of a
    `Saccader` made with `bagnet_kwargs=BRENDEL_BAGNET_KWARGS`) from a Brendel file: every
    feature layer, and the `patch_logits` head only when its class count is the file's (else the
    head keeps its fresh weights, for fine-tuning on other classes).

    Returns:
        The preprocessing record (as `build_pretrained`'s), whose `"weights"` also says `"head"`:
        whether the head was loaded.

    Raises:
        ValueError: `bagnet` was not built with `BRENDEL_BAGNET_KWARGS`' `shortcut_crop`.
        WeightsFileError: as `build_pretrained`, for the variant of `bagnet`.
    """
    if bagnet.shortcut_crop != "bottom_right":
        raise ValueError(
            "Brendel weights need a BagNet built with **BRENDEL_BAGNET_KWARGS "
            f"(shortcut_crop='bottom_right'). Received: shortcut_crop={bagnet.shortcut_crop!r}"
        )
    state, preprocessing = read_pretrained(source, bagnet.variant, check_hash=check_hash)
    head = int(state["fc.weight"].shape[0]) == bagnet.num_classes
    assign_weights(bagnet, state, preprocessing["weights"]["file"], head=head)
    preprocessing["weights"]["head"] = head
    return preprocessing


def read_pretrained(source, variant, *, check_hash=True):
    """`(state_dict, preprocessing)` of a Brendel file or dict, checked to be `variant`'s
    (its published name, hash and tensors)."""
    if variant not in SUPPORTED:
        raise WeightsFileError(
            f"Pretrained BagNet weights exist for {list(SUPPORTED)}; use one of them. "
            f"Received: variant={variant!r}"
        )
    digest = None
    if not isinstance(source, collections.abc.Mapping):
        digest = check_published_name(os.fspath(source), variant, check_hash=check_hash)
    state, name = load_state_dict(source)
    check_variant(state, variant, name)
    preprocessing = dict(PREPROCESSING, channels=int(state["conv1.weight"].shape[1]))
    preprocessing["weights"] = {"file": name, "sha256": digest, "variant": variant}
    return state, preprocessing


def check_published_name(path, variant, check_hash=True):
    """The file's SHA-256 (hex); for a published name (`PUBLISHED_NAME`), checks that it belongs
    to `variant` and that the hash starts with the name's 8 hex digits.

    Raises:
        WeightsFileError: the name is another variant's, or the hash does not match.
    """
    match = PUBLISHED_NAME.match(os.path.basename(path))
    if match and int(match.group(1)) != PUBLISHED[variant]:
        number = int(match.group(1))
        ours = {n: v for v, n in PUBLISHED.items()}.get(number, f"bagnet{number}")
        raise WeightsFileError(
            f"{path} holds the published bagnet{number} (our {ours}), not {variant} (published "
            f"as bagnet{PUBLISHED[variant]}): use variant={ours} or the bagnet"
            f"{PUBLISHED[variant]} file."
        )
    if not os.path.isfile(path):
        return None  # load_state_dict names the missing file
    digest = sha256_of(path)
    if match and check_hash and not digest.startswith(match.group(2)):
        raise WeightsFileError(
            f"{path}: its SHA-256 starts with {digest[:8]}, not {match.group(2)} as its name "
            "says: the file is damaged or incomplete; download it again."
        )
    return digest


def sha256_of(path):
    """The SHA-256 of the file `path`, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_kernel3(state):
    """`(blocks, kernel3)` per group of a Brendel state dict: blocks and leading 3x3 blocks of
    `layer1`..`layer4`, read from the keys and the `conv2` kernel sizes."""
    blocks, kernel3 = [], []
    for g in range(1, 5):
        sizes = []
        while f"layer{g}.{len(sizes)}.conv2.weight" in state:
            sizes.append(state[f"layer{g}.{len(sizes)}.conv2.weight"].shape[-1])
        blocks.append(len(sizes))
        kernel3.append(sum(1 for s in sizes if s == 3))
    return tuple(blocks), tuple(kernel3)


def check_variant(state, variant, name):
    """Raises `WeightsFileError` naming the file's variant when `state` is not `variant`'s."""
    for key in ("conv1.weight", "fc.weight"):
        if key not in state or state[key].ndim != {"conv1.weight": 4, "fc.weight": 2}[key]:
            raise WeightsFileError(
                f"{name} is no state dict of a Brendel BagNet (no {key} of the right rank; keys "
                f"start {sorted(state)[:4]}): give one of the bagnet8/16/32 files."
            )
    blocks, kernel3 = file_kernel3(state)
    if blocks == VARIANTS[variant]["blocks"] and kernel3 == VARIANTS[variant]["kernel3"]:
        return
    found = [v for v in SUPPORTED if VARIANTS[v]["kernel3"] == kernel3]
    if blocks == VARIANTS[variant]["blocks"] and found:
        raise WeightsFileError(
            f"{name} holds {found[0]} weights (published as bagnet{PUBLISHED[found[0]]}), not "
            f"{variant}: use variant={found[0]}."
        )
    raise WeightsFileError(
        f"{name} is no {variant} state dict: it has blocks {blocks} with 3x3 blocks {kernel3} "
        f"per group, where {variant} has {VARIANTS[variant]['blocks']} and "
        f"{VARIANTS[variant]['kernel3']}."
    )


def weight_map(model):
    """`[(variable, state-dict key, kind)]` for every weight of a Brendel-layout `model`, `kind`
    being `"conv"`, `"fc"`, `"bias"` or `"vector"`."""
    entries = [(model.get_layer("stem_conv1x1").kernel, "conv1.weight", "conv")]
    entries.append((model.get_layer("stem_conv3x3").kernel, "conv2.weight", "conv"))
    entries += _bn_entries(model.get_layer("stem_bn"), "bn1")
    for layer in model.layers:
        match = re.fullmatch(r"group(\d+)_block(\d+)", layer.name)
        if not match:
            continue
        prefix = f"layer{match.group(1)}.{int(match.group(2)) - 1}"
        for i in (1, 2, 3):
            entries.append((getattr(layer, f"conv{i}").kernel, f"{prefix}.conv{i}.weight", "conv"))
            entries += _bn_entries(getattr(layer, f"bn{i}"), f"{prefix}.bn{i}")
        if layer.has_projection:
            entries.append((layer.shortcut_conv.kernel, f"{prefix}.downsample.0.weight", "conv"))
            entries += _bn_entries(layer.shortcut_bn, f"{prefix}.downsample.1")
    head = model.get_layer("patch_logits")
    entries += [(head.kernel, "fc.weight", "fc"), (head.bias, "fc.bias", "vector")]
    return entries


def _bn_entries(bn, prefix):
    return [(getattr(bn, ours), f"{prefix}.{theirs}", "vector") for ours, theirs in _BN]


def to_keras(array, kind):
    """A state-dict array in the Keras layout: `"conv"` `[O, I, kh, kw]` → `[kh, kw, I, O]`,
    `"fc"` `[K, F]` → `[1, 1, F, K]`, `"vector"` unchanged."""
    if kind == "conv":
        return np.transpose(array, (2, 3, 1, 0))
    if kind == "fc":
        return np.transpose(array)[None, None]
    return array


def assign_weights(model, state, name, head=True):
    """Sets every weight of `model` from the Brendel state dict `state` (all keys are used,
    except `num_batches_tracked`, and `fc.*` when `head=False`: then the head is left as it is).

    Raises:
        WeightsFileError: a key is missing or left over, or a tensor has the wrong shape.
    """
    entries = [e for e in weight_map(model) if head or not e[1].startswith("fc.")]
    used = {key for _, key, _ in entries}
    missing = sorted(used - set(state))
    unused = {"fc.weight", "fc.bias"} if not head else set()
    extra = sorted(k for k in set(state) - used - unused if not k.endswith("num_batches_tracked"))
    if missing or extra:
        raise WeightsFileError(
            f"{name} does not fit {model.variant}: missing {missing[:5]}, not used {extra[:5]}."
        )
    for variable, key, kind in entries:
        value = to_keras(np.asarray(state[key]), kind)
        if tuple(value.shape) != tuple(variable.shape):
            raise WeightsFileError(
                f"{name}: {key} has shape {tuple(state[key].shape)}, which does not fit "
                f"{model.variant} ({variable.path} is {tuple(variable.shape)} in Keras)."
            )
        variable.assign(value.astype(variable.dtype))


def from_keras(array, kind):
    """The inverse of `to_keras`: a Keras weight as the state-dict array of `kind`."""
    if kind == "conv":
        return np.transpose(array, (3, 2, 0, 1))
    if kind == "fc":
        return np.transpose(array[0, 0])
    return array


def state_dict_of(model):
    """The Brendel state dict (`{key: array}`) of a Brendel-layout `model`'s weights, e.g. of a
    `BagNet` loaded from a `.weights.h5` that `python -m saccader_tf.convert` wrote."""
    return {key: from_keras(np.asarray(v.numpy()), kind) for v, key, kind in weight_map(model)}
