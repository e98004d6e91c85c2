"""What the benchmark runs: the models, batch sizes and repeat counts of a full or a quick run."""

import dataclasses

from benchmarks.jpeg_pipeline import JpegSetup

PARTS = (
    "default",
    "profile",
    "stages",
    "bagnet77",
    "pipeline",
    "jpeg",
    "folder",
    "serving",
    "gpu_paths",
)
"""Parts that `--skip` can leave out (the peak matmul always runs: the FLOP/s rows need it)."""


@dataclasses.dataclass(frozen=True)
class ModelSetup:
    """A Saccader configuration whose three training steps are timed.

    Attributes:
        variant, image_size, num_classes, input_channels: the `Saccader` arguments.
        batch_size: images per timed step.
        steps: timed steps per stage (their median is reported).
        warmup: untimed steps per stage first.
        num_glimpses: stage 3's `T`; num_targets: stage 2's targets.
        attention_widths: the attention network's four widths (`()`: the model's default).
    """

    variant: str
    image_size: int
    num_classes: int
    input_channels: int
    batch_size: int
    steps: int
    warmup: int
    num_glimpses: int = 6
    num_targets: int = 12
    attention_widths: tuple = ()

    @property
    def label(self):
        widths = ",".join(str(w) for w in self.attention_widths)
        extra = f", attention widths {widths}" if widths else ""
        return f"{self.variant} {self.image_size} px, batch {self.batch_size}{extra}"


@dataclasses.dataclass(frozen=True)
class StageRatioSetup:
    """A model whose stage-2 and stage-3 steps are timed against its stage-1 step, with parts.

    Attributes:
        setup: the `ModelSetup` (its `steps` are the interleaved timing rounds).
        stage2_target, stage3_target: the largest stage-2 / stage-1 and stage-3 / stage-1 step
            time ratios that meet the targets.
        with_parts: also time the parts of the stage-2 and stage-3 steps (`False`: the three
            steps only; the quick plan's second size, to keep it short).
    """

    setup: ModelSetup
    stage2_target: float
    stage3_target: float
    with_parts: bool = True


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything one benchmark run measures.

    Attributes:
        default: the embedded default job's model (the launcher's defaults).
        large: the paper's model (`bagnet77_lowd` at 224 px) at a small batch.
        matmul_size: side of the square float32 matmul that sets the peak FLOP/s.
        pipeline_examples, pipeline_batches: cluttered-MNIST training images generated, and
            batches timed, for the input-pipeline throughput (at `default`'s size and batch).
        folder_examples, folder_steps, folder_rounds: images written as a folder, timed stage-1
            steps per source and round, and rounds (the fastest is kept), for the image-folder
            against built-in source rows.
        jpeg: the `JpegSetup` of the JPEG/TFRecord pipeline against decoding alone.
        serving_batches: batch sizes of the serving latency; serving_repeats: timed calls.
        skip: parts (of `PARTS`) not run.
        profile_steps: stage-1 steps of `default` run under the profiler (`kernel_tracing`).
        stage_ratios: `StageRatioSetup`s of the `stages` part (`stage_parts`).
    """

    default: ModelSetup
    large: ModelSetup
    matmul_size: int
    pipeline_examples: int
    pipeline_batches: int
    folder_examples: int
    folder_steps: int
    folder_rounds: int
    jpeg: JpegSetup
    serving_batches: tuple
    serving_repeats: int
    skip: frozenset = frozenset()
    profile_steps: int = 3
    stage_ratios: tuple = ()


def full_plan(*, batch_size=64, steps=30, large_batch_size=8, large_steps=4, skip=()):
    """The measured run: the default job's model and `bagnet77_lowd` at 224 px."""
    return Plan(
        default=ModelSetup(
            "bagnet29_small", 60, 10, 1, batch_size=batch_size, steps=steps, warmup=3
        ),
        large=ModelSetup(
            "bagnet77_lowd", 224, 1001, 3, batch_size=large_batch_size, steps=large_steps, warmup=1
        ),
        # 600 batches of 64: two passes over the 20,000 images, reshuffles included.
        matmul_size=2048,
        pipeline_examples=20_000,
        pipeline_batches=600,
        folder_examples=4_000,
        folder_steps=25,
        folder_rounds=3,
        # ImageNet-like JPEGs at 224 px; 512 images = 16 batches of 32 per timed epoch.
        jpeg=JpegSetup(
            examples=512, height=350, width=400, image_size=224, batch_size=32, rounds=3
        ),
        serving_batches=(1, 32),
        serving_repeats=50,
        skip=frozenset(skip),
        profile_steps=5,
        stage_ratios=(
            StageRatioSetup(ModelSetup("bagnet29_small", 60, 10, 1, batch_size, 10, 2), 0.6, 1.3),
            StageRatioSetup(ModelSetup("bagnet29_small", 100, 10, 1, batch_size, 8, 2), 0.6, 1.0),
        ),
    )


def quick_plan(*, batch_size=4, steps=2, skip=()):
    """Seconds-long smoke run (CI, tests): tiny models, tiny batches, few repeats; every row
    printed."""
    return Plan(
        default=ModelSetup("bagnet9_tiny", 28, 10, 1, batch_size=batch_size, steps=steps, warmup=1),
        large=ModelSetup("bagnet9_tiny", 56, 1001, 3, batch_size=2, steps=steps, warmup=1),
        matmul_size=256,
        pipeline_examples=64,
        pipeline_batches=10,
        folder_examples=16,
        folder_steps=2,
        folder_rounds=1,
        jpeg=JpegSetup(examples=16, height=70, width=80, image_size=56, batch_size=4, rounds=1),
        serving_batches=(1, 32),
        serving_repeats=3,
        skip=frozenset(skip),
        profile_steps=2,
        stage_ratios=(
            StageRatioSetup(ModelSetup("bagnet9_tiny", 28, 10, 1, batch_size, steps, 1), 0.6, 1.3),
            StageRatioSetup(
                ModelSetup("bagnet9_tiny", 40, 10, 1, batch_size, steps, 1), 0.6, 1.0, False
            ),
        ),
    )


def with_attention_widths(plan, widths):
    """`plan` with the `stages` part's models built with attention network `widths` (four ints;
    `()` leaves the plan as it is): what a narrower attention network buys in stages 2 and 3."""
    if not widths:
        return plan
    ratios = tuple(
        dataclasses.replace(r, setup=dataclasses.replace(r.setup, attention_widths=tuple(widths)))
        for r in plan.stage_ratios
    )
    return dataclasses.replace(plan, stage_ratios=ratios)


def check_skip(names):
    """Raises `ValueError` for names outside `PARTS`; returns them as a frozenset."""
    unknown = sorted(set(names) - set(PARTS))
    if unknown:
        raise ValueError(
            f"`--skip` takes parts among {', '.join(PARTS)}. Received: skip={','.join(unknown)}"
        )
    return frozenset(names)
