"""Runs a benchmark `Plan` part by part and returns the table rows."""

import time

import keras

from benchmarks import rows as table
from benchmarks.folder_source import time_folder_against_builtin
from benchmarks.gpu_paths import gpu_rows, measure_gpu_paths
from benchmarks.input_pipeline import pipeline_images_per_second
from benchmarks.jpeg_pipeline import time_jpeg_pipeline
from benchmarks.kernel_tracing import profile_stage1
from benchmarks.serving_latency import measure_serving_latency
from benchmarks.stage_parts import measure_stage_parts
from benchmarks.stage_rows import stage_ratio_rows
from benchmarks.timing import matmul_peak_flops
from benchmarks.training_throughput import random_batch, time_all_stages
from saccader_tf.data import make_source
from saccader_tf.data.resumable_epochs import batches_per_epoch, training_batches
from saccader_tf.models import Saccader


class Progress:
    """Prints `[benchmark +12s] message` lines through `write` (stderr in the command)."""

    def __init__(self, write):
        self.write = write
        self.start = time.perf_counter()

    def __call__(self, message):
        self.write(f"[benchmark +{time.perf_counter() - self.start:.0f}s] {message}")


def build_saccader(setup, seed=0, dtype=None):
    """A built `Saccader` for a `plan.ModelSetup` (seeded weights; `dtype`: its dtype policy)."""
    keras.utils.set_random_seed(seed)
    saccader = Saccader(
        num_classes=setup.num_classes,
        image_size=setup.image_size,
        variant=setup.variant,
        input_channels=setup.input_channels,
        num_glimpses=setup.num_glimpses,
        attention_widths=setup.attention_widths or None,
        seed=seed,
        dtype=dtype,
    )
    saccader.build()
    return saccader


def run_benchmark(plan, progress, device="CPU"):
    """Measures everything in `plan` (skipping `plan.skip`) and returns the rows, in table order.

    Args:
        plan: a `plan.Plan`.
        progress: a callable taking a message (e.g. a `Progress`).
        device: where the run computes (`machine.compute_device()`); the GPU-path rows are
            measured only on a GPU.

    Returns:
        A list of `report.Row`.
    """
    progress(f"peak: tf.matmul {plan.matmul_size}x{plan.matmul_size}")
    peak, _ = matmul_peak_flops(plan.matmul_size)
    rows = [table.peak_row(peak, plan.matmul_size)]
    timings = {}
    for part, setup in (("default", plan.default), ("bagnet77", plan.large)):
        timings[part] = _stage_timings(plan, part, setup, progress)
        profile = _profile(plan, setup, peak, progress) if part == "default" else None
        rows += table.training_rows(part, setup, timings[part], peak, profile=profile)
        if part == "default":
            rows.append(table.profile_row(setup, profile))
            rows += _stage_ratios(plan, progress)
    stage3 = timings["default"] and timings["default"][3]
    rows.append(table.pipeline_row(plan.default, _pipeline(plan, progress), stage3))
    jpeg = None if "jpeg" in plan.skip else time_jpeg_pipeline(plan.jpeg, progress)
    rows += table.jpeg_rows(plan.jpeg, jpeg)
    rows += table.folder_rows(plan.default, _folder(plan, progress))
    rows += table.serving_rows(plan.default, _serving(plan, progress), plan.serving_batches)
    gpu_timings = None
    if "gpu_paths" not in plan.skip:
        gpu_timings = {}  # measured on a GPU only: CPU figures would say nothing about GPUs
        if device.startswith("GPU"):
            gpu_timings = measure_gpu_paths(plan.default, build_saccader, progress)
    rows += gpu_rows(plan.default, gpu_timings, device)
    progress("done")
    return rows


def _stage_timings(plan, part, setup, progress):
    """`{stage: StepTiming}` of `setup`'s three training steps, or `None` when `part` is skipped."""
    if part in plan.skip:
        return None
    progress(f"{part}: {setup.label}")
    return time_all_stages(
        build_saccader(setup),
        setup.batch_size,
        steps=setup.steps,
        warmup=setup.warmup,
        num_targets=setup.num_targets,
        progress=lambda m, p=part: progress(f"{p}: {m}"),
    )


def _stage_ratios(plan, progress):
    """The stage-ratio rows of `plan.stage_ratios` (skipped rows when the part is skipped)."""
    rows = []
    for index, ratio_setup in enumerate(plan.stage_ratios):
        parts = None
        if "stages" not in plan.skip:
            setup = ratio_setup.setup
            progress(f"stages: {setup.label}, {setup.steps} interleaved rounds of steps and parts")
            parts = measure_stage_parts(
                build_saccader(setup),
                setup,
                rounds=setup.steps,
                warmup=setup.warmup,
                with_parts=ratio_setup.with_parts,
            )
        rows += stage_ratio_rows(index, ratio_setup, parts)
    return rows


def _profile(plan, setup, peak, progress):
    """The stage-1 `KernelProfile` of `setup` (`peak`: the run's matmul peak), or `None` when
    the profile part is skipped."""
    if "profile" in plan.skip:
        return None
    progress(f"profile: {plan.profile_steps} stage-1 steps of {setup.label} under tf.profiler")
    saccader = build_saccader(setup)
    return profile_stage1(
        saccader,
        *random_batch(saccader, setup.batch_size),
        matmul_size=plan.matmul_size,
        peak_flops=peak,
        steps=plan.profile_steps,
        warmup=setup.warmup,
    )


def _folder(plan, progress):
    """The image-folder `SourceTimings`, or `None` when skipped."""
    if "folder" in plan.skip:
        return None
    return time_folder_against_builtin(
        plan.default,
        build_saccader,
        examples=plan.folder_examples,
        steps=plan.folder_steps,
        rounds=plan.folder_rounds,
        progress=progress,
    )


def _serving(plan, progress):
    """The `ServingLatency` of each serving batch size, or `None` when skipped."""
    if "serving" in plan.skip:
        return None
    progress(f"serving: export {plan.default.variant} and time batch sizes {plan.serving_batches}")
    channels = plan.default.input_channels  # cluttered MNIST's normalisation: mean 0, std 1
    return measure_serving_latency(
        build_saccader(plan.default),
        mean=(0.0,) * channels,
        std=(1.0,) * channels,
        batch_sizes=plan.serving_batches,
        repeats=plan.serving_repeats,
    )


def _pipeline(plan, progress):
    """Images/s of the embedded dataset's training pipeline, or `None` when skipped."""
    if "pipeline" in plan.skip:
        return None
    setup = plan.default
    progress(
        f"pipeline: cluttered_mnist, {plan.pipeline_examples} images, batch {setup.batch_size}"
    )
    source = make_source(
        "cluttered_mnist",
        image_size=setup.image_size,
        batch_size=setup.batch_size,
        seed=0,
        num_train=plan.pipeline_examples,
    )
    # The stream training consumes: epochs addressed by step (`train_stage` uses the same).
    stream = training_batches(source, 0, 2 * batches_per_epoch(source))
    return pipeline_images_per_second(stream, batches=plan.pipeline_batches)
