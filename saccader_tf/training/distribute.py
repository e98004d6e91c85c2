"""The one place that creates the `tf.distribute` strategy named by a flag (docs/distributed.md)."""

import os
import shutil

import tensorflow as tf
from tensorflow.python.distribute.cluster_resolver import slurm_cluster_resolver

from saccader_tf.utils.errors import BadValueError

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name="default", devices=None, cluster_resolver="tf_config", cluster_port=8888):
    """Returns the strategy called `name`.

    Args:
        name: `"default"` (one device), `"mirrored"` (all local GPUs, or `devices`) or
            `"multi_worker"` (`MultiWorkerMirroredStrategy`; the cluster and this process's task
            come from the `TF_CONFIG` environment variable, see `launch/multi_worker_local.py`).
        devices: optional list of device names for `"mirrored"`, e.g. `["/gpu:0", "/gpu:1"]`.
        cluster_resolver: where `"multi_worker"` finds its cluster: `"tf_config"` (the
            `TF_CONFIG` variable) or `"slurm"` (the `SLURM_*` variables of an `srun` step, see
            `slurm_resolver`).
        cluster_port: with `"slurm"`, the port of a node's first task (`+1`, `+2`, ... for the
            others on that node).

    Returns:
        A `tf.distribute.Strategy`. Build the model, optimizer and metrics in its `scope()`; the
        batch size flag is the global batch. Under `"multi_worker"`, train with
        `saccader_tf.training.train_stage.train_stage`, which works around Keras `fit` gaps
        (`saccader_tf.training.multi_worker`) and lets only the chief write.
    """
    if devices and name != "mirrored":
        raise ValueError(
            f"`devices` only applies to the mirrored strategy. Received: devices={devices}"
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if devices:
            check_devices(devices)
        return tf.distribute.MirroredStrategy(devices=devices or None)
    if name == "multi_worker":
        if cluster_resolver == "slurm":
            resolver = slurm_resolver(cluster_port)
            return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")


def check_devices(devices):
    """Every name in `devices` is a device of this process (TensorFlow would otherwise place the
    work on another device without a word); raises `BadValueError` naming what is there."""
    present = tf.config.list_logical_devices()
    known = {(d.device_type, tf.DeviceSpec.from_string(d.name).device_index) for d in present}
    for name in devices:
        spec = tf.DeviceSpec.from_string(name)
        device_type = (spec.device_type or "").upper()
        if (device_type, spec.device_index or 0) not in known:
            names = ", ".join(d.name for d in present)
            raise BadValueError(
                f"the devices list names {name}, which this machine does not have (it has: "
                f"{names}): name devices it has, or leave --devices unset to use all local GPUs."
            )


SLURM_VARIABLES = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST")


def slurm_resolver(port):
    """TensorFlow's `SlurmClusterResolver` for the tasks of this `srun` step.

    Every task of the step is a worker (task 0 the chief), at `<node>:<port + i>` for the i-th
    task on a node. GPUs are not assigned here: ask Slurm for them per task (`--gpus-per-task`),
    which sets each task's `CUDA_VISIBLE_DEVICES`. Raises `BadValueError` outside a Slurm step.
    """
    missing = [name for name in SLURM_VARIABLES if name not in os.environ]
    if missing:
        raise BadValueError(
            f"--cluster_resolver=slurm found no {', '.join(missing)}: run the launcher under srun "
            "in a Slurm job (see launch/slurm/train.sbatch), or use TF_CONFIG."
        )
    return _SlurmResolver(port, gpus=_visible_gpus())


def _visible_gpus():
    """The GPUs this process may use, without initialising TensorFlow's devices (collective ops
    must be configured before that): `CUDA_VISIBLE_DEVICES` (set by Slurm's GPU binding), else
    `nvidia-smi`'s count, else 0."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if shutil.which("nvidia-smi"):
        return slurm_cluster_resolver.get_num_gpus()
    return 0


class _SlurmResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
    """`SlurmClusterResolver` reporting the GPUs this task sees (Slurm's own binding) as its
    accelerators, which `MultiWorkerMirroredStrategy` uses as each worker's devices; TensorFlow's
    would take a share of `nvidia-smi`'s count of the node (and needs `nvidia-smi`)."""

    def __init__(self, port, gpus):
        per_task = max(gpus, 1)  # the resolver's own GPU bookkeeping needs a positive count
        tasks = int(os.environ["SLURM_STEP_NUM_TASKS"])
        super().__init__(
            port_base=port,
            gpus_per_node=per_task * tasks,
            gpus_per_task=per_task,
            auto_set_gpu=False,
        )
        self.visible_gpus = gpus

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
        return {"GPU": self.visible_gpus} if self.visible_gpus else {}
