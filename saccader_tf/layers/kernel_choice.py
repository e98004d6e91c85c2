"""Which kernel runs batch norm: the CPU substitute or Keras's standard layer.

`saccader_tf.layers.fused_batch_norm.BatchNormalization` has a CPU-motivated substitute with the
same maths and the same weights: TensorFlow's fused batch-norm kernel instead of Keras's
elementwise ops. It was chosen and measured on CPUs (docs/results/benchmark.md); on GPUs and TPUs
cuDNN and XLA run Keras's standard layer well, and the substitute was never measured there. So the
choice follows the devices:

- `"auto"` (the default): the substitute when TensorFlow sees no GPU or TPU, else Keras's layer;
- `"cpu"`: the substitute everywhere; `"standard"`: Keras's layer everywhere.

(The attention network's dilated convolutions once had a CPU substitute too; TensorFlow's kernel
with oneDNN is now faster, so they run Keras's `Conv2D` everywhere: docs/results/stage_profile.md.)

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
    """True when the CPU substitute runs (see the module docstring)."""
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
        reason = "no GPU or TPU visible; --kernels=standard for Keras's layer"
    else:
        reason = f"{', '.join(accelerators())} visible; --kernels=cpu for the CPU substitute"
    what = (
        "CPU substitute (fused batch norm)"
        if substitutes
        else "Keras's standard BatchNormalization"
    )
    return f"kernels: {what} ({reason})"
