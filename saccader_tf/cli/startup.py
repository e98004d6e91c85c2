"""The environment of the command-line entry points, set before TensorFlow is imported.

Importing `saccader_tf` changes no environment variable; `python -m saccader_tf.launch` (and the
repository's `python -m benchmarks`) call `prepare_environment()` first, which sets, unless the
user set them:

- `TF_ENABLE_ONEDNN_OPTS=1`: TensorFlow's oneDNN CPU kernels, faster for training steps
  (docs/reliability.md, "oneDNN"). Serving at batch 1 is faster without them, so a process that
  only imports the library keeps TensorFlow's own default.
- `TF_ENABLED_DEVICE_TYPES=CPU` and `TF_CPP_MIN_LOG_LEVEL=1` on a Linux machine where nothing shows
  a GPU, TPU or device plug-in: TensorFlow's CUDA build then skips probing for a GPU, which would
  log `E0000 ... failed call to cuInit` at every start. `TF_ENABLED_DEVICE_TYPES=` (empty) brings
  the probe back.
"""

import glob
import importlib.util
import os
import shutil
import sys

_ACCELERATOR_DEVICES = (
    "/dev/nvidia*",  # NVIDIA
    "/proc/driver/nvidia",
    "/dev/dxg",  # WSL 2
    "/dev/kfd",  # AMD ROCm
    "/dev/accel*",  # TPU
    "/dev/vfio/[0-9]*",
)


def no_accelerator(platform=None, search_path=None):
    """True on Linux when nothing shows a GPU, TPU or TensorFlow device plug-in to TensorFlow."""
    if not (platform or sys.platform).startswith("linux"):
        return False  # macOS GPUs are plug-ins; TensorFlow's CUDA build is Linux-only
    if any(glob.glob(pattern) for pattern in _ACCELERATOR_DEVICES) or shutil.which("nvidia-smi"):
        return False
    plugin_dirs = [
        os.path.join(path or ".", "tensorflow-plugins") for path in (search_path or sys.path)
    ]
    if any(os.path.isdir(path) and os.listdir(path) for path in plugin_dirs):
        return False
    return importlib.util.find_spec("libtpu") is None


def prepare_environment(environ=None):
    """Sets the entry points' TensorFlow variables in `environ` (default `os.environ`), keeping
    every value the user set. Has an effect only before TensorFlow is imported."""
    environ = os.environ if environ is None else environ
    environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "TF_ENABLED_DEVICE_TYPES" not in environ and no_accelerator():
        environ["TF_ENABLED_DEVICE_TYPES"] = "CPU"
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    return environ
