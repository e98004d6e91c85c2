"""Seconds per compiled training step of each stage's trainer, on one fixed batch.

The step is exactly what `saccader_tf.training.train_stage.train_stage` runs: the stage's trainer
from `make_trainer`, compiled with `make_optimizer` (Adam, cosine decay) and `jit_compile=False`,
called through Keras' compiled train function (`train_on_batch`). The batch is a constant tensor,
so the input pipeline is not part of the time (`input_pipeline.py` measures it on its own).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from benchmarks.flop_count import stage_flops
from benchmarks.timing import time_calls
from saccader_tf.training.train_stage import make_optimizer, make_trainer

STAGES = (1, 2, 3)


@dataclasses.dataclass(frozen=True)
class StepTiming:
    """Median time of one training step of one stage.

    Attributes:
        stage: 1, 2 or 3.
        batch_size: images per step.
        seconds: median seconds per step.
        flops_per_image: analytic FLOPs per image of the step (`flop_count.stage_flops`).
    """

    stage: int
    batch_size: int
    seconds: float
    flops_per_image: int

    @property
    def images_per_second(self):
        return self.batch_size / self.seconds

    @property
    def flops_per_second(self):
        """Achieved FLOP/s: analytic FLOPs of the step divided by its time."""
        return self.flops_per_image * self.batch_size / self.seconds


def random_batch(saccader, batch_size, seed=0):
    """A constant float32 batch `[B, S, S, C]` of N(0, 1) images and int32 labels `[B]`."""
    rng = np.random.default_rng(seed)
    size, channels = saccader.image_size, saccader.input_channels
    images = rng.normal(size=(batch_size, size, size, channels)).astype("float32")
    labels = rng.integers(0, saccader.num_classes, size=batch_size).astype("int32")
    return tf.constant(images), tf.constant(labels)


def time_stage_step(
    saccader, stage, images, labels, *, steps, warmup=2, num_targets=12, jit_compile=False
):
    """Times `steps` compiled training steps of `stage` on one batch, after `warmup` steps.

    Args:
        saccader: a built `Saccader` (its weights change: these are real training steps).
        stage: 1, 2 or 3.
        images: float32 `[B, S, S, C]`.
        labels: int32 `[B]`.
        steps: timed steps (the median is reported).
        warmup: untimed steps first (the first one traces the step function).
        num_targets: stage 2's target cells.
        jit_compile: XLA-compile the step (the GPU-path rows; off for every other row).

    Returns:
        A `StepTiming`.
    """
    trainer = make_trainer(stage, saccader, weight_decay=8e-5, num_targets=num_targets)
    trainer.compile(
        optimizer=make_optimizer("adam", 1e-4, total_steps=1000), jit_compile=jit_compile
    )

    def step():
        trainer.train_on_batch(images, labels)  # returns numpy logs: waits for the step

    seconds = time_calls(step, repeats=steps, warmup=max(1, warmup))
    return StepTiming(
        stage=stage,
        batch_size=int(images.shape[0]),
        seconds=float(np.median(seconds)),
        flops_per_image=stage_flops(saccader, stage, num_targets=num_targets),
    )


def time_all_stages(saccader, batch_size, *, steps, warmup=2, num_targets=12, progress=None):
    """`{stage: StepTiming}` for stages 1, 2, 3 of `saccader` on one random batch.

    Args:
        progress: optional callable taking a message string, called before each stage.
    """
    images, labels = random_batch(saccader, batch_size)
    timings = {}
    for stage in STAGES:
        if progress:
            progress(f"stage {stage}: {warmup} warm-up + {steps} timed steps at batch {batch_size}")
        timings[stage] = time_stage_step(
            saccader, stage, images, labels, steps=steps, warmup=warmup, num_targets=num_targets
        )
    return timings
