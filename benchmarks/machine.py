"""A description of the machine and software a benchmark ran on (printed above its table)."""

import datetime
import os
import platform

import keras
import tensorflow as tf


def cpu_model():
    """The CPU's model name from `/proc/cpuinfo` (Linux), else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average():
    """The 1-minute load average, or `None` where the OS has none. Other jobs make figures low."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def compute_device():
    """The device the benchmark's steps run on: `"GPU:0 (<name>)"` when TensorFlow sees a GPU (it
    places the work there), else `"CPU"`."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "unknown GPU")
    return f"GPU:0 ({name})"


def describe_machine():
    """Dict: date, CPU, core count, GPUs, the device used, TensorFlow/Keras versions, oneDNN
    setting, load average."""
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "device": compute_device(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        # Read by TensorFlow at import time; unset = TensorFlow's default for this CPU.
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        "load_average_1min": load_average(),
    }


def format_machine(info):
    """One line for people, e.g. `2 cores (AMD EPYC), no GPU, TF 2.21.0, Keras 3.15.1, ...`."""
    gpus = "no GPU" if not info["gpus"] else f"{info['gpus']} GPU(s)"
    load = info["load_average_1min"]
    load_text = "" if load is None else f", load average {load:.2f} at start"
    return (
        f"{info['date']}: ran on {info['device']}; {info['cpu_cores']} CPU cores "
        f"({info['cpu']}), {gpus}, TensorFlow "
        f"{info['tensorflow']}, Keras {info['keras']}, TF_ENABLE_ONEDNN_OPTS="
        f"{info['TF_ENABLE_ONEDNN_OPTS']}{load_text}"
    )
