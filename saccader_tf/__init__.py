"""saccader_tf: Saccader hard-attention image classification for Keras 3 / TensorFlow."""

import glob
import importlib.util
import os
import shutil
import sys

# Training entry points (the module run by `python -m`, before TensorFlow is imported).
TRAINING_ENTRY_POINTS = ("saccader_tf.launch", "saccader_tf.benchmarks")


def onednn_default(argv):
    """TF_ENABLE_ONEDNN_OPTS for a process started as `argv` (`sys.orig_argv`) when unset.

    TensorFlow's oneDNN CPU kernels make training steps 1.3-1.8x faster here but serving at
    batch 1 about 2x slower (BUILD.md, "CPU speed: oneDNN"), so the training entry points run
    with them ("1") and every other process that imports saccader_tf, e.g. a Python server,
    keeps the reference kernels ("0"). The one oneDNN kernel of TensorFlow 2.21 that corrupted
    memory here (strided 1x1 weight gradient, < 16 input channels) is not used by the BagNet
    (`BagNetBottleneck._project`). An exported SavedModel carries neither setting.
    """
    argv = list(argv)
    for flag, module in zip(argv, argv[1:]):
        if flag == "-m":
            return "1" if module in TRAINING_ENTRY_POINTS else "0"
    return "0"


# Before anything below imports TensorFlow (no effect if it was imported first); a value the
# user set is kept.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", onednn_default(getattr(sys, "orig_argv", ())))


def _no_accelerator():
    """True on Linux when nothing shows a GPU, TPU or TensorFlow device plug-in to TensorFlow."""
    if not sys.platform.startswith("linux"):
        return False  # macOS GPUs are plug-ins; TensorFlow's CUDA build is Linux-only
    # NVIDIA (also WSL 2's /dev/dxg), AMD ROCm, TPU device files, and the NVIDIA driver tool.
    devices = (
        "/dev/nvidia*",
        "/proc/driver/nvidia",
        "/dev/dxg",
        "/dev/kfd",
        "/dev/accel*",
        "/dev/vfio/[0-9]*",
    )
    if any(glob.glob(pattern) for pattern in devices) or shutil.which("nvidia-smi"):
        return False
    plugin_dirs = [os.path.join(path or ".", "tensorflow-plugins") for path in sys.path]
    if any(os.path.isdir(path) and os.listdir(path) for path in plugin_dirs):
        return False
    return importlib.util.find_spec("libtpu") is None


# Before anything below imports TensorFlow: on a machine without a GPU, TensorFlow's CUDA build
# still probes for one and logs `E0000 ... failed call to cuInit: UNKNOWN ERROR (303)` at start.
# Enabling only its CPU devices skips the probe; C++ INFO lines (which would now announce the
# disabled GPU factory) are hidden too, warnings and errors are not. Variables the user set are
# kept: `TF_ENABLED_DEVICE_TYPES=` (empty) brings the probe back (BUILD.md, "Start-up lines").
if "TF_ENABLED_DEVICE_TYPES" not in os.environ and _no_accelerator():
    os.environ["TF_ENABLED_DEVICE_TYPES"] = "CPU"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from saccader_tf.layers import (  # noqa: E402
    ADCM,
    CBAM,
    VISITED_PENALTY,
    AttentionNetwork,
    BagNetBottleneck,
    GaussianLocationPolicy,
    GlimpseNetwork,
    SaccaderCell,
    WhatWhereMixer,
)
from saccader_tf.models import DRAM, POLICIES, VARIANTS, BagNet, Saccader, make_policy  # noqa: E402
from saccader_tf.training import (  # noqa: E402
    DRAMTrainer,
    LocationPretrainer,
    PolicyGradientTrainer,
    RepresentationTrainer,
)

__version__ = "0.1.0"
