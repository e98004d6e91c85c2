"""`StageSettings`: how one training stage trains (what `train_stage` reads).

A run makes one per stage (`RunSettings.stage_settings(stage)`); Python code can build one
directly to train a single stage. The defaults a stage shares with a run are declared here once
and `RunSettings` takes them from here.
"""

import dataclasses
from typing import Optional

from saccader_tf.training.policy_gradient_trainer import DEFAULT_FULL_IMAGE_LOSS_WEIGHT

SWITCHES = ("l2", "location_weight_decay", "reward", "schedule", "warmup_epochs", "skip_stage2")
"""The reproduction switches, by field name."""


@dataclasses.dataclass(frozen=True)
class StageSettings:
    """How one stage trains (see `saccader_tf.training.train_stage.train_stage`).

    Attributes:
        epochs: passes over the training data (or of `steps_per_epoch` steps), >= 1.
        learning_rate: peak learning rate (cosine-decayed over the stage), positive and finite.
        weight_decay: L2 coefficient λ of `λ·Σ||w||²/2` on kernels (default 0: none, for a stage
            trained on its own; a run's default is `RunSettings.weight_decay`).
        num_targets: stage 2's number of target cells.
        full_image_loss_weight: stage 3's weight μ of the full-image loss (ignored by 1 and 2).
        steps_per_epoch: steps per epoch; `None` = one pass over the training data (whose length
            must then be known).
        eval_steps: evaluation batches per epoch, spread over the evaluation split
            (`saccader_tf.data.eval_subsets.spread_batches`); `None` = the whole split.
        validation_steps: validation batches after each epoch, spread alike, when fewer should
            do than `eval_steps` (a large split); `None` = `eval_steps`.
        optimizer: `"adam"` or `"sgd"` (Nesterov momentum 0.9).
        jit_compile: XLA for the train step (slower on CPUs; for GPUs).
        verbose: Keras `fit` verbosity (1 = progress bar, 2 = one line per epoch, 0 = silent).
        save_every_steps: `None` (the default for a stage trained on its own; a run saves every
            `RunSettings.save_every_steps`) = no resumable progress; `0` = saved after every
            epoch; `N` = also every `N` steps.
        restart: ignore (and replace) saved progress instead of resuming from it.
        log_every_steps: `N` = a plain progress line and TensorBoard scalars every `N` steps
            (`saccader_tf.training.step_log`); 0 = none.

    Reproduction switches (each off by default, recorded in a stage's progress plan when on, so a
    resume with another value is refused):
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
    validation_steps: Optional[int] = None
    optimizer: str = "adam"
    jit_compile: bool = False
    verbose: int = 1
    save_every_steps: Optional[int] = None
    restart: bool = False
    log_every_steps: int = 0
    l2: str = "standard"
    location_weight_decay: Optional[float] = None
    reward: str = "binary"
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    skip_stage2: bool = False

    def switches(self):
        """The reproduction switches that are not at their defaults, by name (for a stage's plan:
        an empty dict by default, so plans of runs without switches stay as they were)."""
        return {
            name: getattr(self, name)
            for name in SWITCHES
            if getattr(self, name) != getattr(StageSettings, name)
        }


SHARED_WITH_RUNS = (
    "num_targets",
    "full_image_loss_weight",
    "eval_steps",
    "validation_steps",
    "optimizer",
    "jit_compile",
    "l2",
    "location_weight_decay",
    "reward",
    "schedule",
    "warmup_epochs",
    "log_every_steps",
)
"""The fields a run gives every stage as they are (same name, same value, same default), besides
`weight_decay` and `save_every_steps`, whose defaults differ (see the attributes above)."""
