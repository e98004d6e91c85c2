"""Kernel-by-kernel profile of a stage-1 training step: where the time goes, at what FLOP/s.

`kernel_tracing.profile_stage1` runs and records the steps; `build_profile` here turns their op
events (each op's category and layer from `kernel_ops`) into `KernelRow`s: the FLOP kernels by
layer, one row per other category, and the time outside ops. The FLOP column sums to the step's
analytic count (`flop_count.stage_flops` × batch): a test checks it.

Three ratios summarise the table, all against a matmul peak measured next to the profiled
steps:

- achieved: the step's FLOPs / its wall time (what the benchmark's peak-fraction row reports);
- ceiling: the FLOP kernels' own rate, FLOPs / (time in convolutions and matmuls): what the step
  would reach if every other op (BatchNorm, ReLU, slices, loss, optimizer, dispatch) cost nothing.
  The FLOP kernels are TensorFlow's (or oneDNN's); nothing in this project can make them faster,
  so no change to the step's other ops can lift the ratio above this ceiling;
- reachable: FLOPs / (time in the model's own layers' kernels: convolutions, BatchNorm, ReLU,
  shortcut slices/pads, residual adds): the step with zero framework cost (no loss, weight decay,
  optimizer update, other ops, dispatch or idle time), its layers run by TensorFlow's kernels.
  The benchmark's stage-1 peak-fraction row counts as met when the profiled steps' achieved
  ratio is at least `REACHED` of it (it still prints the 0.5 target and whether that is met).

Times are wall time: at each instant the ops running split it equally, so the rows plus the time
outside ops sum to the step's wall time.
"""

import collections
import dataclasses

import numpy as np

from benchmarks.kernel_ops import (
    CATEGORIES,
    FLOP_CATEGORIES,
    LAYER_CATEGORIES,
    LAYER_KERNELS,
    OUTSIDE,
    categorize,
    layer_key,
)

_G = 1e9
REACHED = 0.9  # achieved >= REACHED x reachable: the step runs at the speed of its layers' kernels


@dataclasses.dataclass(frozen=True)
class KernelRow:
    """One line of the kernel table: a category, or one layer's ops of a FLOP category.

    Attributes:
        category: a key of `CATEGORIES`, or `OUTSIDE`.
        label: what the row covers, for people.
        ops: ops per step in the row.
        seconds: their share of the step's wall time (an instant when several ops run is split
            equally among them; see `attributed_seconds`).
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
