"""Kernel-by-kernel profile of a stage-1 training step: where the time goes, at what FLOP/s.

The step is the one `training_throughput.time_stage_step` times (the stage-1 trainer compiled
with Adam and `jit_compile=False`, called through Keras' `train_on_batch`). A few steps run under
`tf.profiler.experimental`; the XPlane file it writes is parsed here (no TensorBoard plug-in
needed): every TensorFlow op executed is one event with its node name, op type and duration.

Each op is put in a category (convolution forward, input gradient, filter gradient, BatchNorm,
its gradient, ReLU, its gradient, slices/pads, loss, weight decay, optimizer update, other) and,
for the convolutions and BatchNorms, in the layer it belongs to. FLOPs per op are analytic, from
the static shapes of the same step traced as a graph (`2 · prod(output) · k_h · k_w · C_in` for a
convolution and both its gradients, `2 · m · k · n` for a matmul), so the FLOP column sums to the
step's analytic count (`flop_count.stage_flops` × batch) — a test checks it.

Three ratios summarise the table, all against a matmul peak measured next to the profiled
steps (see `profile_stage1`):

- achieved: the step's FLOPs / its wall time (what the benchmark's peak-fraction row reports);
- ceiling: the FLOP kernels' own rate, FLOPs / (time in convolutions and matmuls) — what the step
  would reach if every other op (BatchNorm, ReLU, slices, loss, optimizer, dispatch) cost nothing.
  The FLOP kernels are TensorFlow's (or oneDNN's); nothing in this project can make them faster,
  so no change to the step's other ops can lift the ratio above this ceiling;
- reachable: FLOPs / (time in the model's own layers' kernels: convolutions, BatchNorm, ReLU,
  shortcut slices/pads, residual adds) — the step with zero framework cost (no loss, weight decay,
  optimizer update, other ops, dispatch or idle time), its layers run by TensorFlow's kernels.
  The benchmark's stage-1 peak-fraction row counts as met when the profiled steps' achieved
  ratio is at least `REACHED` (0.9) of it (it still prints the 0.5 target and whether that is
  met).

Times are wall time: at each instant the ops running split it equally (two cores), so the rows
plus the time outside ops sum to the step's wall time.
"""

import collections
import dataclasses
import glob
import os
import re
import tempfile

import numpy as np
import tensorflow as tf

from benchmarks.timing import matmul_peak_flops
from saccader_tf.training.train_stage import make_optimizer, make_trainer

_G = 1e9
REACHED = 0.9  # achieved >= REACHED x reachable: the step runs at the speed of its layers' kernels

# Categories in table order: (key, label, op types without oneDNN's `_Mkl`/`_MklNative` prefix).
CATEGORIES = (
    ("conv_forward", "Conv2D forward", ("Conv2D", "_FusedConv2D", "FusedConv2D")),
    ("conv_input_grad", "Conv2DBackpropInput", ("Conv2DBackpropInput",)),
    (
        "conv_filter_grad",
        "Conv2DBackpropFilter",
        ("Conv2DBackpropFilter", "Conv2DBackpropFilterWithBias"),
    ),
    ("matmul", "MatMul", ("MatMul", "BatchMatMulV2", "_FusedMatMul", "FusedMatMul")),
    ("batch_norm", "FusedBatchNorm (+ fused ReLU)", ("FusedBatchNormV3", "FusedBatchNormEx")),
    ("batch_norm_grad", "FusedBatchNormGrad", ("FusedBatchNormGradV3", "FusedBatchNormGradEx")),
    ("relu", "Relu", ("Relu",)),
    ("relu_grad", "ReluGrad", ("ReluGrad",)),
    ("slice_pad", "slices / pads", ("Slice", "StridedSlice", "Pad", "StridedSliceGrad", "PadV2")),
    ("residual_add", "residual adds, gradient sums (AddN)", ("AddN",)),
    (
        "loss",
        "loss (cross-entropy, accuracy)",
        ("SparseSoftmaxCrossEntropyWithLogits", "ArgMax", "Equal"),
    ),
    ("weight_decay", "weight decay (penalty + gradient)", ()),
    ("optimizer", "optimizer update (Adam)", ()),
    ("other", "other ops", ()),
)
FLOP_CATEGORIES = ("conv_forward", "conv_input_grad", "conv_filter_grad", "matmul")
LAYER_CATEGORIES = FLOP_CATEGORIES + ("batch_norm", "batch_norm_grad")  # rows per layer
LAYER_KERNELS = LAYER_CATEGORIES + ("relu", "relu_grad", "slice_pad", "residual_add")
OUTSIDE = "outside_ops"  # step wall time not covered by any op: dispatch, Keras' Python, input


def canonical_type(op_type):
    """`_MklNativeConv2D` → `Conv2D`: the op type without oneDNN's prefixes."""
    return re.sub(r"^_Mkl(Native)?(?=[A-Z_])", "", op_type)


def _strip_suffix(component):
    return re.sub(r"_\d+$", "", component)


def layer_key(node_name, layer_names):
    """The Keras layer path of an op from its node name, e.g. `group1_block1/conv2`.

    Args:
        node_name: a graph node name, e.g.
            `StatefulPartitionedCall/gradient_tape/saccader_1/bag_net_1/group1_block1_1/conv2_1/
            convolution/Conv2DBackpropFilter` (Keras' `_1` suffixes are ignored).
        layer_names: names of the model's layers whose ops are grouped (e.g. every convolution's
            and every block's name).

    Returns:
        The matched layer names joined by `/`, or `""` when none matches.
    """
    parts = [_strip_suffix(p) for p in node_name.split("/")]
    return "/".join(p for p in parts if p in layer_names)


def categorize(node_name, op_type):
    """The category key (of `CATEGORIES`) of one op."""
    kind = canonical_type(op_type)
    lower = node_name.lower()
    if "adam" in lower or "/optimizer" in lower or lower.startswith("optimizer"):
        return "optimizer"
    for key, _, types in CATEGORIES:
        if kind in types:
            return key
    if "weight_decay" in lower or "l2_penalty" in lower:
        return "weight_decay"
    if "cross_entropy" in lower or "correct" in lower or "/loss" in lower:
        return "loss"
    if kind in ("AddV2", "Add") and "block" in lower:
        return "residual_add"
    return "other"


def op_flops(op):
    """Analytic FLOPs of one graph op from its static shapes (0 for ops without multiply-adds).

    `Conv2D`: `2 · prod(output) · k_h · k_w · C_in`; `Conv2DBackpropInput` and
    `Conv2DBackpropFilter`: the same count as the forward convolution they differentiate;
    `MatMul`: `2 · m · k · n`.
    """
    kind = canonical_type(op.type)
    if kind == "Conv2D":
        out, kernel = op.outputs[0].shape, op.inputs[1].shape
        return 2 * int(np.prod(out)) * int(np.prod(kernel[:3]))
    if kind == "Conv2DBackpropInput":  # inputs: input_sizes, filter, out_backprop
        kernel, grad = op.inputs[1].shape, op.inputs[2].shape
        return 2 * int(np.prod(grad)) * int(np.prod(kernel[:3]))
    if kind == "Conv2DBackpropFilter":  # inputs: input, filter_sizes, out_backprop
        grad, kernel = op.inputs[2].shape, op.outputs[0].shape
        return 2 * int(np.prod(grad)) * int(np.prod(kernel[:3]))
    if kind == "MatMul":
        a, b = op.inputs[0].shape, op.inputs[1].shape
        m, k = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * int(m) * int(k) * int(n)
    return 0


@dataclasses.dataclass(frozen=True)
class KernelRow:
    """One line of the kernel table: a category, or one layer's ops of a FLOP category.

    Attributes:
        category: a key of `CATEGORIES`, or `OUTSIDE`.
        label: what the row covers, for people.
        ops: ops per step in the row.
        seconds: their summed duration per step (ops that ran at the same time on the two cores
            are each counted in full).
        flops: their analytic FLOPs per step (whole batch).
    """

    category: str
    label: str
    ops: float
    seconds: float
    flops: int

    @property
    def flops_per_second(self):
        return self.flops / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class KernelProfile:
    """The profile of one stage-1 step (per-step means over the profiled steps).

    Attributes:
        rows: `KernelRow`s: the FLOP kernels by layer, then one row per other category, then
            the time outside ops.
        step_seconds: wall time of a step (mean of the profiled steps).
        flops: analytic FLOPs of a step (sum of the rows).
        peak_flops: the matmul peak FLOP/s the fractions are taken against.
        batch_size: images per step.
    """

    rows: tuple
    step_seconds: float
    flops: int
    peak_flops: float
    batch_size: int

    def seconds(self, categories):
        return sum(r.seconds for r in self.rows if r.category in categories)

    @property
    def op_seconds(self):
        """Summed op durations per step (can exceed the wall time: two cores)."""
        return sum(r.seconds for r in self.rows if r.category != OUTSIDE)

    @property
    def flop_kernel_seconds(self):
        return self.seconds(FLOP_CATEGORIES)

    @property
    def achieved_fraction(self):
        """The step's FLOP/s over the peak (the benchmark's peak-fraction row, profiled steps)."""
        return self.flops / self.step_seconds / self.peak_flops

    @property
    def ceiling_fraction(self):
        """The FLOP kernels' own FLOP/s over the peak: the ratio with every other op free."""
        return self.flops / self.flop_kernel_seconds / self.peak_flops

    @property
    def layer_kernel_seconds(self):
        """Time in the model's own layers' kernels: convolutions, BatchNorm, ReLU, the shortcut
        slices/pads and residual adds (forward and gradients)."""
        return self.seconds(LAYER_KERNELS)

    @property
    def reachable_fraction(self):
        """The ratio of a step made of the layers' kernels alone, as TensorFlow runs them here:
        no loss, weight decay, optimizer, other ops or dispatch time."""
        return self.flops / self.layer_kernel_seconds / self.peak_flops

    def to_numbers(self):
        """A JSON-able dict (the rows and the ratios); `from_numbers` reads it back."""
        return {
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "step_seconds": self.step_seconds,
            "flops": self.flops,
            "peak_flops": self.peak_flops,
            "batch_size": self.batch_size,
            "achieved_fraction": self.achieved_fraction,
            "ceiling_fraction": self.ceiling_fraction,
            "reachable_fraction": self.reachable_fraction,
        }

    @classmethod
    def from_numbers(cls, numbers):
        return cls(
            rows=tuple(KernelRow(**r) for r in numbers["rows"]),
            step_seconds=numbers["step_seconds"],
            flops=numbers["flops"],
            peak_flops=numbers["peak_flops"],
            batch_size=numbers["batch_size"],
        )


def attributed_seconds(intervals):
    """Splits the busy wall time among overlapping intervals: each instant goes in equal shares
    to the intervals running then, so the shares sum to the length of their union.

    Args:
        intervals: list of `(start, end)` in seconds.

    Returns:
        float64 array, one share per interval.
    """
    points = sorted({t for interval in intervals for t in interval})
    shares = np.zeros(len(intervals))
    if not intervals:
        return shares
    starts = collections.defaultdict(list)
    ends = collections.defaultdict(list)
    for i, (start, end) in enumerate(intervals):
        starts[start].append(i)
        ends[end].append(i)
    active = set()
    for left, right in zip(points[:-1], points[1:]):
        active.difference_update(ends[left])
        active.update(i for i in starts[left] if intervals[i][1] > left)
        if active:
            share = (right - left) / len(active)
            for i in active:
                shares[i] += share
    return shares


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
    measured peak (on the shared 2-core machine it alternated between ~100 and ~200 GFLOP/s), so
    the highest one seen is the machine's.

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
    import time

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


def build_profile(events, flops, layer_names, walls, peak_flops, batch_size):
    """A `KernelProfile` from op events, graph FLOPs and the steps' wall times (see
    `read_op_events`, `graph_flops`)."""
    steps = len(walls)
    shares = attributed_seconds([(start, end) for _, _, start, end in events])
    seconds, counts = collections.Counter(), collections.Counter()
    for (node, op_type, _, _), share in zip(events, shares):
        category = categorize(node, op_type)
        layer = layer_key(node, layer_names) if category in LAYER_CATEGORIES else ""
        seconds[(category, layer)] += share / steps
        counts[(category, layer)] += 1 / steps
    # The gradient of the images (the first convolution's input gradient) is in the traced graph
    # but pruned before it runs: only the FLOPs of ops that ran count.
    flops = {key: count for key, count in flops.items() if key in seconds}
    rows = []
    labels = {key: label for key, label, _ in CATEGORIES}
    for category, _, _ in CATEGORIES:
        keys = sorted(
            {k for k in list(seconds) + list(flops) if k[0] == category},
            key=lambda k: (-seconds.get(k, 0.0), k[1]),
        )
        for key in keys:
            label = f"{labels[category]}: {key[1]}" if key[1] else labels[category]
            rows.append(
                KernelRow(
                    category,
                    label,
                    float(counts.get(key, 0.0)),
                    float(seconds.get(key, 0.0)),
                    int(flops.get(key, 0)),
                )
            )
    busy = sum(seconds.values())
    wall = float(np.sum(walls)) / steps
    rows.append(
        KernelRow(
            OUTSIDE,
            "outside ops (Keras/Python dispatch, input, idle)",
            0.0,
            max(0.0, wall - busy),
            0,
        )
    )
    return KernelProfile(
        rows=tuple(rows),
        step_seconds=wall,
        flops=int(sum(flops.values())),
        peak_flops=peak_flops,
        batch_size=batch_size,
    )


PROFILE_COLUMNS = (
    "kernel",
    "ops/step",
    "ms/step",
    "share of step",
    "MFLOP/step",
    "GFLOP/s",
    "/ peak",
)


def category_totals(profile):
    """`{category: KernelRow}`: the profile's rows summed per category (layers merged)."""
    labels = {key: label for key, label, _ in CATEGORIES}
    totals = {}
    for row in profile.rows:
        old = totals.get(
            row.category, KernelRow(row.category, labels.get(row.category, row.label), 0.0, 0.0, 0)
        )
        totals[row.category] = dataclasses.replace(
            old,
            ops=old.ops + row.ops,
            seconds=old.seconds + row.seconds,
            flops=old.flops + row.flops,
        )
    return totals


def format_profile(profile, by_layer=True):
    """The kernel table (Markdown) and its summary lines.

    Args:
        profile: a `KernelProfile`.
        by_layer: one row per layer for the FLOP kernels (else one row per category).
    """
    rows = profile.rows if by_layer else tuple(category_totals(profile).values())
    lines = ["| " + " | ".join(PROFILE_COLUMNS) + " |", "|" + "---|" * len(PROFILE_COLUMNS)]
    for row in rows + (
        KernelRow(
            "total",
            "**whole step**",
            sum(r.ops for r in profile.rows),
            profile.step_seconds,
            profile.flops,
        ),
    ):
        rate = row.flops_per_second
        cells = (
            row.label,
            f"{row.ops:.0f}" if row.ops else "—",
            f"{row.seconds * 1e3:.2f}",
            f"{row.seconds / profile.step_seconds:.1%}",
            f"{row.flops / 1e6:.1f}" if row.flops else "—",
            f"{rate / _G:.1f}" if row.flops else "—",
            f"{rate / profile.peak_flops:.2f}" if row.flops else "—",
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(summary(profile))
    return "\n".join(lines)


def summary(profile):
    """One paragraph: the achieved, ceiling and reachable ratios (against the profile's peak)."""
    flop_share = profile.flop_kernel_seconds / profile.step_seconds
    return (
        f"Step {profile.step_seconds * 1e3:.1f} ms (profiled), {profile.flops / 1e9:.2f} GFLOP "
        f"at batch {profile.batch_size}; peak {profile.peak_flops / _G:.1f} GFLOP/s. Achieved "
        f"{profile.achieved_fraction:.2f} of the peak; the FLOP kernels (convolutions, "
        f"matmuls) take {flop_share:.0%} of the step and run at "
        f"{profile.ceiling_fraction:.2f} of the peak: the ceiling with every other op free. "
        f"The layers' kernels alone (convolutions, BatchNorm, ReLU, slices/pads, adds) give "
        f"{profile.reachable_fraction:.2f}: the reachable ratio; the step reaches "
        f"{profile.achieved_fraction / profile.reachable_fraction:.0%} of it."
    )
