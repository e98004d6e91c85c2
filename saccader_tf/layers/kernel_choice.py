"""Which kernels run two of the model's layers: the CPU substitutes or Keras's standard layers.

Two layers have a CPU-motivated substitute with the same maths and the same weights:
`saccader_tf.layers.fused_batch_norm.BatchNormalization` (TensorFlow's fused batch-norm kernel
instead of Keras's elementwise ops) and `saccader_tf.layers.dilated_conv.same_dilated_conv2d` (a
dilated convolution as one matrix product). They were chosen and measured on CPUs
(docs/results/benchmark.md); on GPUs and TPUs cuDNN and XLA run Keras's standard layers well, and
the substitutes were never measured there. So the choice follows the devices:

- `"auto"` (the default): the substitutes when TensorFlow sees no GPU or TPU, else Keras's layers;
- `"cpu"`: the substitutes everywhere; `"standard"`: Keras's layers everywhere.

`set_kernels(mode)` sets the mode for the process (the launcher's `--kernels` flag);
`cpu_kernels()` is the choice (decided at its first call after a `set_kernels`, then kept) and
`choice_line()` says which it is and why. Weight files are the same either way.
"""

import tensorflow as tf

KERNEL_MODES = ("auto", "cpu", "standard")

_state = {"mode": "auto", "choice": None}


def set_kernels(mode):
    """Sets the kernel mode (one of `KERNEL_MODES`); the choice is made again at the next use."""
    if mode not in KERNEL_MODES:
        raise ValueError(f"`mode` must be one of {KERNEL_MODES}. Received: mode={mode!r}")
    _state.update(mode=mode, choice=None)


def accelerators():
    """The GPU and TPU devices TensorFlow sees (logical devices: creating them is not needed)."""
    return [d.name for kind in ("GPU", "TPU") for d in tf.config.list_logical_devices(kind)]


def cpu_kernels():
    """True when the CPU substitutes run (see the module docstring)."""
    if _state["choice"] is None:
        mode = _state["mode"]
        _state["choice"] = mode == "cpu" or (mode == "auto" and not accelerators())
    return _state["choice"]


def choice_line():
    """One line naming the kernels in use and why, e.g. for the start of a run's output."""
    mode, substitutes = _state["mode"], cpu_kernels()
    if mode != "auto":
        reason = f"--kernels={mode}"
    elif substitutes:
        reason = "no GPU or TPU visible; --kernels=standard for Keras's layers"
    else:
        reason = f"{', '.join(accelerators())} visible; --kernels=cpu for the CPU substitutes"
    what = (
        "CPU substitutes (fused batch norm, dilated convolutions as one matmul)"
        if substitutes
        else "Keras's standard BatchNormalization and dilated Conv2D"
    )
    return f"kernels: {what} ({reason})"
