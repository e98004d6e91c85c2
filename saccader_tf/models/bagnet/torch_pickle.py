"""Reading `torch.save` files without torch, and without running any pickled code.

A `torch.save` file is a pickle whose tensors refer to raw storages kept beside it:

- the zip format (PyTorch >= 1.6): a zip archive `<name>/data.pkl` (the pickle),
  `<name>/data/<key>` (one storage's bytes each) and `<name>/byteorder`;
- the legacy format (`_use_new_zipfile_serialization=False`, and every file saved before 1.6):
  pickles of the magic number `0x1950a86a20f9469cfc6c`, the protocol version 1001 and the system
  information, then the object's pickle, then the sorted list of storage keys, then per key an
  8-byte element count and the storage's bytes.

The pickle is read by an unpickler that knows five names only: `collections.OrderedDict`, the
storage types (`torch.FloatStorage`, ...; data, never called) and the tensor and parameter rebuild
functions of `torch._utils`, replaced by functions that record `(storage, offset, size, stride)`.
Any other global (a class, `os.system`, ...) is refused, so a file cannot run code; after the
pickle, each tensor becomes a NumPy array copied from its storage (bounds checked).
"""

import collections
import dataclasses
import io
import pickle
import struct
import tarfile
import zipfile

import numpy as np

from saccader_tf.models.bagnet.weight_errors import WeightsFileError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "BFloat16Storage": "bf16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "b1",
}
"""The storage types of `torch.save` files and their NumPy types (`bf16` is read as `uint16`
and widened to float32)."""
_FIX = "save the model's `state_dict()` with torch.save"
_DAMAGED = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    struct.error,
)
"""What a damaged or foreign file raises while it is read (reported as one line)."""


@dataclasses.dataclass(frozen=True)
class _StorageType:
    name: str


@dataclasses.dataclass(frozen=True)
class _Storage:
    key: str
    kind: str  # a value of STORAGE_DTYPES
    offset: int = 0  # elements into the root storage (legacy views)
    numel: int = None  # elements (None: up to the end of the root storage)


@dataclasses.dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, meta=None):
    return _Tensor(storage, offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return data


_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    """Knows only `_GLOBALS` and the storage types; records every storage it meets."""

    def __init__(self, file, path, tensors=True):
        super().__init__(file, encoding="latin1")  # pre-Python-3 pickles hold byte strings
        self.path, self.tensors, self.storages = path, tensors, {}

    def find_class(self, module, name):
        if self.tensors and module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if self.tensors and (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        raise WeightsFileError(
            f"{self.path} holds pickled `{module}.{name}`, which is not read (only tensors and "
            f"dicts of them are, so that no code in the file runs): {_FIX}."
        )

    def persistent_load(self, pid):
        kind = pid[0] if isinstance(pid, tuple) and pid else None
        kind = kind.decode("ascii") if isinstance(kind, bytes) else kind
        if kind == "module":
            raise WeightsFileError(f"{self.path} holds a whole pickled model: {_FIX}.")
        if kind != "storage" or len(pid) not in (5, 6) or not isinstance(pid[1], _StorageType):
            raise WeightsFileError(f"{self.path}: unknown storage record {pid!r}: {_FIX}.")
        key = str(pid[2])
        root = _Storage(key, STORAGE_DTYPES[pid[1].name], 0, None)
        self.storages.setdefault(key, root)
        view = pid[5] if len(pid) == 6 else None
        if view is None:
            return root
        _, offset, view_numel = view
        return _Storage(key, root.kind, int(offset), int(view_numel))


def read_torch_file(path):
    """The object saved in the `torch.save` file `path`, tensors as NumPy arrays.

    Raises:
        WeightsFileError: the file is not a `torch.save` file, holds anything but tensors in
            dicts, lists and tuples (classes, functions), or is cut short.
    """
    try:
        if tarfile.is_tarfile(path):  # before the zip test, which also finds a zip inside a tar
            raise WeightsFileError(
                f"{path} is in the tar format of PyTorch before 0.4, which is not read: load it "
                "with that torch and save its state dict again with torch >= 1.0."
            )
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        with open(path, "rb") as f:
            return _read_legacy(f, path)
    except WeightsFileError:
        raise
    except _DAMAGED as e:
        raise WeightsFileError(
            f"{path} is no readable torch.save file ({type(e).__name__}: {e}): check that the "
            "download is complete, or convert it to a .npz state dict."
        ) from None


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        pickles = sorted(n for n in names if n.endswith("data.pkl") and n.count("/") <= 1)
        if not pickles:
            raise WeightsFileError(f"{path} is a zip archive without data.pkl: no torch.save file.")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii").strip()
        unpickler = _Unpickler(io.BytesIO(archive.read(pickles[0])), path)
        result = unpickler.load()
        data = {}
        for key, storage in unpickler.storages.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise WeightsFileError(f"{path} lacks the storage {member}: the file is damaged.")
            data[key] = _raw_array(archive.read(member), storage.kind, byteorder, None, path)
    return _materialise(result, data, path)


def _read_legacy(f, path):
    plain = _Unpickler(f, path, tensors=False)
    if plain.load() != LEGACY_MAGIC:
        raise WeightsFileError(
            f"{path} is neither a zip nor a legacy torch.save file (wrong magic number)."
        )
    protocol = plain.load()
    if protocol != LEGACY_PROTOCOL:
        raise WeightsFileError(f"{path}: unknown torch.save protocol {protocol!r}.")
    info = plain.load()
    byteorder = "little" if not isinstance(info, dict) or info.get("little_endian", True) else "big"
    unpickler = _Unpickler(f, path)
    result = unpickler.load()
    keys = _Unpickler(f, path, tensors=False).load()
    data = {}
    for key in keys:
        key = str(key)
        if key not in unpickler.storages:
            raise WeightsFileError(f"{path}: storage {key} is not used by any tensor.")
        kind = unpickler.storages[key].kind
        (numel,) = struct.unpack("<q" if byteorder == "little" else ">q", _read(f, 8, path))
        size = numel * (2 if kind == "bf16" else np.dtype(kind).itemsize)
        data[key] = _raw_array(_read(f, size, path), kind, byteorder, numel, path)
    return _materialise(result, data, path)


def _read(f, size, path):
    chunk = f.read(size)
    if len(chunk) != size:
        raise WeightsFileError(f"{path} is cut short: check that the download is complete.")
    return chunk


def _raw_array(buffer, kind, byteorder, numel, path):
    """The 1-D array of a storage's bytes (`bf16` stays `uint16` until `_materialise`)."""
    order = "<" if byteorder == "little" else ">"
    dtype = np.dtype(order + ("u2" if kind == "bf16" else kind))
    if len(buffer) % dtype.itemsize:
        raise WeightsFileError(f"{path}: a storage's size is no multiple of its element size.")
    return np.frombuffer(buffer, dtype=dtype, count=-1 if numel is None else numel)


def _materialise(obj, data, path):
    """`obj` with every recorded tensor replaced by a NumPy array (in dicts, lists, tuples)."""
    if isinstance(obj, _Tensor):
        return _tensor_array(obj, data, path)
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, data, path)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, data, path) for v in obj)
    return obj


def _tensor_array(tensor, data, path):
    storage = tensor.storage
    if storage.key not in data:
        raise WeightsFileError(f"{path} lacks the data of storage {storage.key}: it is damaged.")
    flat = data[storage.key][storage.offset :]
    if storage.numel is not None:
        flat = flat[: storage.numel]
    size, stride = tensor.size, tensor.stride
    if len(size) != len(stride) or min((*size, *stride, tensor.offset, 0)) < 0:
        raise WeightsFileError(f"{path}: a tensor has an impossible size {size} / {stride}.")
    if 0 in size:
        array = np.zeros(size, flat.dtype)
    else:
        last = tensor.offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= len(flat):
            raise WeightsFileError(f"{path}: a tensor reaches past its storage: it is damaged.")
        strides = tuple(s * flat.dtype.itemsize for s in stride)
        view = np.lib.stride_tricks.as_strided(
            flat[tensor.offset :], size, strides, writeable=False
        )
        array = np.array(view)
    if storage.kind == "bf16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(array.dtype.newbyteorder("="), copy=False)
