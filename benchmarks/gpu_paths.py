"""Rows of the GPU paths: the stage-1 step with XLA and in mixed_float16 against the plain step.

Both are claims about GPUs (XLA fuses kernels, float16 uses tensor cores), so they are measured
only when the run is on a GPU (`machine.compute_device()`). A CPU run prints them as "not
measured: no GPU", without a verdict, whatever numbers it is handed: on a CPU both paths make
the BagNet's training steps slower (docs/results/cpu_kernels.md), which says nothing about a
GPU.
"""

from benchmarks.report import Row, skipped_row
from benchmarks.training_throughput import random_batch, time_stage_step

NO_GPU = "not measured: no GPU"
PATHS = (
    ("xla", "with XLA (--jit_compile)", "the float32 step without XLA"),
    ("mixed_float16", "in mixed_float16 (--mixed_precision=mixed_float16)", "the float32 step"),
)
SPEEDUP_TARGET = 1.0  # the path must make the step faster than the plain step


def measure_gpu_paths(setup, build_saccader, progress):
    """Seconds per stage-1 step of `setup`: `{"plain", "xla", "mixed_float16": StepTiming}`.

    Args:
        setup: a `plan.ModelSetup`.
        build_saccader: `(setup, dtype=None) -> built Saccader` (seeded: the same weights).
        progress: a callable taking a message.
    """
    runs = {
        "plain": ({}, False),
        "xla": ({}, True),
        "mixed_float16": ({"dtype": "mixed_float16"}, False),
    }
    timings = {}
    for name, (model_kwargs, jit_compile) in runs.items():
        progress(f"gpu paths: stage 1 {name}, {setup.warmup} warm-up + {setup.steps} timed steps")
        saccader = build_saccader(setup, **model_kwargs)
        images, labels = random_batch(saccader, setup.batch_size)
        timings[name] = time_stage_step(
            saccader,
            1,
            images,
            labels,
            steps=setup.steps,
            warmup=setup.warmup,
            jit_compile=jit_compile,
        )
    return timings


def gpu_rows(setup, timings, device):
    """The GPU-path rows: time ratios to the plain step on a GPU, "not measured: no GPU" elsewhere.

    Args:
        setup: the measured `plan.ModelSetup`.
        timings: `measure_gpu_paths`'s dict, or `None` when the part was skipped.
        device: the run's device (`machine.compute_device()`); nothing is claimed unless it is a
            GPU, even when `timings` are given.
    """
    rows = []
    for name, how, reference in PATHS:
        key = f"gpu/{name}_stage1"
        measurement = f"{setup.label}: stage-1 step {how} / {reference} (GPU)"
        target = f"< {SPEEDUP_TARGET:.2f}× (on a GPU)"
        if timings is None:
            rows.append(skipped_row(key, measurement, target))
        elif not device.startswith("GPU"):
            rows.append(
                Row(
                    key=key,
                    measurement=measurement,
                    value=f"{NO_GPU} (ran on {device})",
                    target=target,
                )
            )
        else:
            ratio = timings[name].seconds / timings["plain"].seconds
            rows.append(
                Row(
                    key=key,
                    measurement=measurement,
                    target=target,
                    met=ratio < SPEEDUP_TARGET,
                    value=(
                        f"{ratio:.2f}× ({timings[name].seconds * 1000:.1f} vs. "
                        f"{timings['plain'].seconds * 1000:.1f} ms/step on {device})"
                    ),
                    numbers={
                        "ratio": ratio,
                        "seconds_per_step": timings[name].seconds,
                        "plain_seconds_per_step": timings["plain"].seconds,
                        "device": device,
                    },
                )
            )
    return rows
