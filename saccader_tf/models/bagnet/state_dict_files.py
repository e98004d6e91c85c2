"""PyTorch state dicts from files or dicts, as `{name: numpy array}`, without torch.

Reads `torch.save` files (`.pth`, `.pth.tar`, `.pt`, ...; zip and legacy formats, through
`torch_pickle`), `.npz` archives (`numpy.savez` of a state dict) and `.safetensors` files (an
8-byte little-endian header length, a JSON header of `dtype` / `shape` / `data_offsets` per tensor,
then the bytes). A checkpoint dict that wraps the weights under `"state_dict"`,
`"model_state_dict"` or `"model"` is unwrapped, and the `module.` prefix of a model saved from
`torch.nn.DataParallel` is dropped.
"""

import collections.abc
import json
import os
import struct
import zipfile

import numpy as np

from saccader_tf.models.bagnet.torch_pickle import read_torch_file
from saccader_tf.models.bagnet.weight_errors import WeightsFileError
from saccader_tf.utils.errors import MissingFileError

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
"""Keys under which training checkpoints keep the state dict."""
DATA_PARALLEL_PREFIX = "module."
SAFETENSORS_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",  # widened to float32 below
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def load_state_dict(source):
    """The state dict of `source` as an ordered `{name: numpy array}`.

    Args:
        source: a path (`str` or path-like) of a `.npz`, `.safetensors` or `torch.save` file, or
            a mapping of names to arrays (NumPy arrays, torch tensors or anything `np.asarray`
            takes); either may be a checkpoint that wraps the state dict (`WRAPPER_KEYS`).

    Returns:
        `(state_dict, name)`: the arrays, keys without a `module.` prefix, and how to name the
        source in messages (the path, or `"the given state dict"`).

    Raises:
        MissingFileError: the path does not exist.
        WeightsFileError: the file cannot be read or holds no state dict.
    """
    if isinstance(source, collections.abc.Mapping):
        name, state = "the given state dict", source
    else:
        name = os.fspath(source)
        if not os.path.isfile(name):
            raise MissingFileError(f"{name} does not exist: give the path of a weights file.")
        state = read_state_file(name)
    state = _unwrap(state, name)
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise WeightsFileError(f"{name} has a non-string key {key!r}: no state dict.")
        arrays[key] = _as_array(value, key, name)
    if arrays and all(key.startswith(DATA_PARALLEL_PREFIX) for key in arrays):
        arrays = {key[len(DATA_PARALLEL_PREFIX) :]: value for key, value in arrays.items()}
    return arrays, name


def read_state_file(path):
    """The mapping saved in the file `path`, chosen by its ending (`.npz`, `.safetensors`, else
    a `torch.save` file)."""
    if path.endswith(".npz"):
        return _read_npz(path)
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return read_torch_file(path)


def read_safetensors(path):
    """The tensors of the `.safetensors` file `path` as `{name: numpy array}` (copies)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
        body = memoryview(data)[8 + length :]
        arrays = {}
        for key, info in header.items():
            if key == "__metadata__":
                continue
            start, end = info["data_offsets"]
            shape = tuple(info["shape"])
            if not 0 <= start <= end <= len(body):
                raise ValueError(f"tensor {key} lies outside the file")
            array = np.frombuffer(body[start:end], SAFETENSORS_DTYPES[info["dtype"]]).reshape(shape)
            if info["dtype"] == "BF16":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            arrays[key] = np.array(array)
        return arrays
    except (struct.error, ValueError, KeyError, TypeError, AttributeError) as e:
        raise WeightsFileError(
            f"{path} is no readable .safetensors file ({type(e).__name__}: {e}): check that the "
            "download is complete."
        ) from None


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise WeightsFileError(
            f"{path} is no readable .npz file of arrays ({type(e).__name__}: {e}): save the state "
            "dict with numpy.savez(path, **{name: tensor.numpy()})."
        ) from None


def _unwrap(state, name):
    if not isinstance(state, collections.abc.Mapping):
        raise WeightsFileError(
            f"{name} holds a {type(state).__name__}, not a state dict: save the model's "
            "`state_dict()`."
        )
    for key in WRAPPER_KEYS:
        if isinstance(state.get(key), collections.abc.Mapping):
            return state[key]
    return state


def _as_array(value, key, name):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = None
    if array is None or array.dtype.kind not in "biuf":  # numbers and booleans only
        raise WeightsFileError(
            f"{name}: entry {key!r} is a {type(value).__name__}, not a tensor: give a state dict "
            "of tensors (e.g. `model.state_dict()`)."
        )
    return array
