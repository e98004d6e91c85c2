"""Runs stage-1 training steps under `tf.profiler.experimental` and measures them.

The step is the one `training_throughput.time_stage_step` times (the stage-1 trainer compiled
with Adam and `jit_compile=False`, called through Keras' `train_on_batch`). A few steps run under
the profiler; the XPlane file it writes is parsed here (no TensorBoard plug-in needed): every
TensorFlow op executed is one event with its node name, op type and duration. The same step traced
as a graph gives each op's analytic FLOPs (`kernel_ops.op_flops`). `kernel_profile.build_profile`
turns both into the table.
"""

import collections
import glob
import os
import tempfile
import time

import tensorflow as tf

from benchmarks.kernel_ops import categorize, layer_key, op_flops
from benchmarks.kernel_profile import build_profile
from benchmarks.timing import matmul_peak_flops
from saccader_tf.training.train_stage import make_optimizer, make_trainer


def read_op_events(logdir):
    """The TensorFlow op events of the newest profile under `logdir`.

    Returns:
        A list of `(node_name, op_type, start_seconds, end_seconds)` from the host plane's op
        events (named `node_name:op_type`, with the op type as display name; the executor's
        and thread pools' own events are left out).
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # in TensorFlow's pip package

    paths = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
    if not paths:
        raise RuntimeError(
            f"The profiler wrote no `*.xplane.pb` under {logdir!r}; is another "
            "profiling session running in this process?"
        )
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    events = []
    for plane in space.planes:
        if not plane.name.startswith("/host:"):
            continue
        for line in plane.lines:
            base = line.timestamp_ns * 1e-9
            for event in line.events:
                metadata = plane.event_metadata[event.metadata_id]
                op_type = metadata.display_name  # set for op events only
                node = metadata.name[: -len(op_type) - 1]
                if not op_type or not node or metadata.name != f"{node}:{op_type}":
                    continue
                start = base + event.offset_ps * 1e-12
                events.append((node, op_type, start, start + event.duration_ps * 1e-12))
    return events


def _layer_names(saccader):
    """Names of the BagNet's layers that own FLOP kernels, and of its blocks."""
    names = set()
    for layer in saccader.representation._flatten_layers(include_self=False):
        names.add(layer.name)
    return names


def graph_flops(step_function, images, labels, layer_names):
    """`{(category, layer): FLOPs}` of the FLOP ops in the graph of `step_function(images,
    labels)` (traced, not run)."""
    graph = tf.function(step_function).get_concrete_function(images, labels).graph
    flops = collections.Counter()
    for op in graph.get_operations():
        count = op_flops(op)
        if count:
            flops[(categorize(op.name, op.type), layer_key(op.name, layer_names))] += count
    return flops


def profile_stage1(
    saccader, images, labels, *, matmul_size=2048, steps=3, warmup=2, logdir=None, peak_flops=0.0
):
    """Profiles `steps` stage-1 training steps of `saccader` on one batch.

    The fractions' reference is the peak of a `matmul_size`² `tf.matmul` measured right before
    and right after the profiled steps, in the same process and with the same kernel settings,
    or `peak_flops` (the run's own peak) when higher: other load on the cores only ever lowers a
    measured peak, so the highest one seen is the machine's.

    Args:
        saccader: a built `Saccader` (trained in place: these are real steps).
        images: float32 `[B, S, S, C]`; labels: int32 `[B]`.
        matmul_size: side of the square matmul that sets the peak.
        steps: profiled steps; warmup: untimed steps first (tracing, oneDNN primitive caches).
        logdir: where the profiler writes (default: a temporary directory, deleted after).
        peak_flops: a peak FLOP/s measured earlier in the same run (0: none).

    Returns:
        A `KernelProfile`.
    """
    trainer = make_trainer(1, saccader, weight_decay=8e-5)
    trainer.compile(optimizer=make_optimizer("adam", 1e-4, total_steps=1000), jit_compile=False)
    for _ in range(max(1, warmup)):
        trainer.train_on_batch(images, labels)
    names = _layer_names(saccader)
    flops = graph_flops(lambda x, y: trainer.train_step((x, y)), images, labels, names)
    peak_before, _ = matmul_peak_flops(matmul_size)
    with tempfile.TemporaryDirectory() as tmp:
        logdir = logdir or tmp
        walls = []
        tf.profiler.experimental.start(logdir)
        try:
            for _ in range(steps):
                start = time.perf_counter()
                trainer.train_on_batch(images, labels)
                walls.append(time.perf_counter() - start)
        finally:
            tf.profiler.experimental.stop()
        events = read_op_events(logdir)
    peak = max(peak_flops, peak_before, matmul_peak_flops(matmul_size)[0])
    return build_profile(events, flops, names, walls, peak, int(images.shape[0]))
