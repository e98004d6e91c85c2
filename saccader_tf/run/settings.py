"""The settings of a training run and of one training stage, as plain frozen dataclasses.

`RunSettings` is everything the stage recipe (`saccader_tf.run.orchestrator`) reads: the launcher
builds it from its flags (`saccader_tf.launch.settings_from_flags`), Python code builds it directly.
Its defaults are the launcher's flag defaults. `StageSettings` is what `train_stage` needs of one
stage (`RunSettings.stage_settings(stage)` makes it from a run's settings).
"""

import dataclasses
import sys
from typing import Callable, Optional

from saccader_tf.training.policy_gradient_trainer import DEFAULT_FULL_IMAGE_LOSS_WEIGHT

DEFAULT_EVAL_POLICIES = (
    "learned",
    "ordered_logits",
    "random",
    "full",
    "center",
    "random_tf1",
    "center_tf1",
    "sobel_mean",
    "sobel_var",
)


@dataclasses.dataclass(frozen=True)
class StageSettings:
    """How one stage trains (see `saccader_tf.training.train_stage.train_stage`).

    Attributes:
        epochs: passes over the training data (or of `steps_per_epoch` steps), >= 1.
        learning_rate: peak learning rate (cosine-decayed over the stage), positive and finite.
        weight_decay: L2 coefficient λ of `λ·Σ||w||²/2` on kernels.
        num_targets: stage 2's number of target cells.
        full_image_loss_weight: stage 3's weight μ of the full-image loss (ignored by 1 and 2).
        steps_per_epoch: steps per epoch; `None` = one pass over the training data (whose length
            must then be known).
        eval_steps: evaluation batches per epoch; `None` = the whole evaluation split.
        optimizer: `"adam"` or `"sgd"` (Nesterov momentum 0.9).
        jit_compile: XLA for the train step (slower on CPUs; for GPUs).
        verbose: Keras `fit` verbosity (1 = progress bar, 2 = one line per epoch, 0 = silent).
        save_every_steps: `None` = no resumable progress; `0` = saved after every epoch; `N` =
            also every `N` steps.
        restart: ignore (and replace) saved progress instead of resuming from it.

    Reproduction switches (issue 12; each off by default, recorded in a stage's progress plan when
    on, so a resume with another value is refused):
        l2: `"standard"` (λ·Σ||w||²/2) or `"normalized"` (the TF1 code's λ·Σ mean(w²)); see
            `saccader_tf.training.losses.weight_decay_penalty`.
        location_weight_decay: λ of the location network; `None` = `weight_decay`.
        reward: stage 3's (and DRAM's) `"binary"` r ∈ {0, 1} or `"punishment"` r ∈ {−1, 1}.
        schedule: `"cosine"` (decay to 0 over the stage) or `"constant"`.
        warmup_epochs: linear warm-up from 0 to `learning_rate` over this many epochs (may be
            fractional; rounded to steps), then `schedule` over the rest; 0 = none.
        skip_stage2: stage 3 starts from stage 1's weights (the paper's no-pretraining ablation).
    """

    epochs: int
    learning_rate: float
    weight_decay: float = 0.0
    num_targets: int = 12
    full_image_loss_weight: float = DEFAULT_FULL_IMAGE_LOSS_WEIGHT
    steps_per_epoch: Optional[int] = None
    eval_steps: Optional[int] = None
    optimizer: str = "adam"
    jit_compile: bool = False
    verbose: int = 1
    save_every_steps: Optional[int] = None
    restart: bool = False
    l2: str = "standard"
    location_weight_decay: Optional[float] = None
    reward: str = "binary"
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    skip_stage2: bool = False

    def switches(self):
        """The reproduction switches that are not at their defaults, by name (for a stage's plan:
        an empty dict by default, so plans of runs without switches stay as they were)."""
        defaults = StageSettings(epochs=1, learning_rate=1.0)
        names = (
            "l2",
            "location_weight_decay",
            "reward",
            "schedule",
            "warmup_epochs",
            "skip_stage2",
        )
        return {
            name: getattr(self, name)
            for name in names
            if getattr(self, name) != getattr(defaults, name)
        }


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """A training run: data, model, the per-stage schedule and where it is written.

    The fields carry the names of the launcher's flags (`python -m saccader_tf.launch --help`
    describes each), with two differences: `epochs` and `learning_rate` hold one value per stage
    (stages 1, 2, 3, and optionally 4; without a fourth, stage 4 takes stage 1's), and
    `readout_given` / `eval_policies_given` say whether `--readout` / `--eval_policies` were given
    (an explicit `--readout` re-reads a model in `--stage=eval`; an explicit `--eval_policies`
    replaces the policy comparison's default rows).

    Attributes besides the flags:
        verbose: Keras `fit` verbosity; `None` = a progress bar on a terminal, else one line per
            epoch.
        command_for: `stage -> shell command` that creates that stage's checkpoint (quoted when a
            later stage misses it); `None` = a plain launcher command with this `model_dir`.
    """

    dataset: str = "cluttered_mnist"
    data_dir: Optional[str] = None
    num_clutter: Optional[int] = None
    train_examples: Optional[int] = 20000
    skip_bad_files: bool = False
    augment: Optional[str] = None
    flip: Optional[bool] = None
    channels: str = "auto"
    cache: str = "auto"
    cache_budget_mb: int = 1024
    model: str = "bagnet29_small"
    architecture: str = "saccader"
    dram_model: str = "dram_small"
    image_size: int = 60
    num_glimpses: int = 6
    num_targets: int = 12
    readout: str = "hard"
    readout_given: bool = False
    eval_policies: tuple = DEFAULT_EVAL_POLICIES
    eval_policies_given: bool = False
    batch_size: int = 64
    epochs: tuple = (3, 1, 1)
    steps: Optional[int] = None
    eval_steps: Optional[int] = None
    learning_rate: tuple = (0.002, 0.002, 0.002)
    weight_decay: float = 8e-5
    full_image_loss_weight: float = DEFAULT_FULL_IMAGE_LOSS_WEIGHT
    optimizer: str = "adam"
    model_dir: str = "runs/saccader"
    save_every_steps: int = 100
    retrain: bool = False
    seed: int = 0
    strategy: str = "default"
    devices: tuple = ()
    jit_compile: bool = False
    mixed_precision: str = "none"
    classifier: str = "none"
    classifier_image_size: Optional[int] = None
    classifier_weights: Optional[str] = None
    l2: str = "standard"
    location_weight_decay: Optional[float] = None
    reward: str = "binary"
    background_class: bool = False
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    skip_stage2: bool = False
    verbose: Optional[int] = None
    command_for: Optional[Callable[[int], str]] = dataclasses.field(default=None, compare=False)

    def command(self, stage):
        """The shell command that creates the checkpoint of `stage` (for missing-file errors)."""
        if self.command_for is not None:
            return self.command_for(stage)
        return f"python -m saccader_tf.launch --stage={stage} --model_dir={self.model_dir}"

    @property
    def stages(self):
        """The stages of `--stage=all`: 1, 2, 3, and 4 when a ClassNet classifier is configured;
        without 2 with `skip_stage2`."""
        stages = [1, 2, 3] if self.classifier == "none" else [1, 2, 3, 4]
        return [stage for stage in stages if not (self.skip_stage2 and stage == 2)]

    def previous_stage(self, stage):
        """The stage whose checkpoint `stage` starts from: `stage - 1`, but stage 1 for stage 3
        with `skip_stage2` (`None` for stage 1)."""
        if stage == 1:
            return None
        return 1 if stage == 3 and self.skip_stage2 else stage - 1

    @property
    def classnet_image_size(self):
        """S_cls, the side of a ClassNet's input images (`classifier_image_size` or
        `image_size`)."""
        return self.classifier_image_size or self.image_size

    def stage_settings(self, stage):
        """The `StageSettings` of `stage` (1-4): its epochs and learning rate, the rest shared."""
        verbose = self.verbose if self.verbose is not None else 1 if sys.stdout.isatty() else 2

        def of_stage(values):  # stage 4 without a value of its own takes stage 1's
            return values[stage - 1] if len(values) >= stage else values[0]

        return StageSettings(
            epochs=of_stage(self.epochs),
            learning_rate=of_stage(self.learning_rate),
            weight_decay=self.weight_decay,
            num_targets=self.num_targets,
            full_image_loss_weight=self.full_image_loss_weight,
            steps_per_epoch=self.steps,
            eval_steps=self.eval_steps,
            optimizer=self.optimizer,
            jit_compile=self.jit_compile,
            verbose=verbose,
            save_every_steps=self.save_every_steps,
            restart=self.retrain,
            l2=self.l2,
            location_weight_decay=self.location_weight_decay,
            reward=self.reward,
            schedule=self.schedule,
            warmup_epochs=self.warmup_epochs,
            skip_stage2=self.skip_stage2 and stage == 3,
        )
