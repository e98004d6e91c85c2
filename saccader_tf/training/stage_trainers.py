"""Which `StageTrainer` trains a stage, and how that stage's summary line names it.

A `TrainerSpec` says how one stage's trainer is made (its class, Keras name and the stage settings
it takes beyond weight decay) and how the stage is reported (its title and headline metric).
`STAGE_TRAINERS` holds the Saccader's stages 1-3 and a Saccader-ClassNet's stage 4 (see
docs/design.md, "Training stages"); `DRAM_TRAINER` is DRAM's one stage (docs/design.md, "DRAM").
Which spec a run uses is chosen by its model kind (`saccader_tf.run.model_kinds`).
"""

import dataclasses

from saccader_tf.training.classnet_trainer import ClassNetTrainer
from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.location_pretrainer import LocationPretrainer
from saccader_tf.training.policy_gradient_trainer import (
    DEFAULT_FULL_IMAGE_LOSS_WEIGHT,
    PolicyGradientTrainer,
)
from saccader_tf.training.representation_trainer import RepresentationTrainer


@dataclasses.dataclass(frozen=True)
class TrainerSpec:
    """How one training stage's trainer is made and reported.

    Args:
        trainer_class: the `StageTrainer` subclass.
        name: the trainer's Keras name.
        title: how the stage's summary line starts, e.g. `"stage 3 (policy gradient)"`.
        metric: the logged metric the summary line reports (train and eval).
        options: the keyword arguments the trainer takes beyond `weight_decay`, `l2` and
            `location_weight_decay` (among `num_targets`, `full_image_loss_weight`, `reward`).
    """

    trainer_class: type
    name: str
    title: str
    metric: str = "accuracy"
    options: tuple = ()

    def make(self, model, **settings):
        """The trainer around `model`, with the `settings` it takes (the others are ignored)."""
        decay = {k: settings[k] for k in ("weight_decay", "l2", "location_weight_decay")}
        options = {k: settings[k] for k in self.options}
        return self.trainer_class(model, **decay, **options, name=self.name)


STAGE_TRAINERS = {
    1: TrainerSpec(RepresentationTrainer, "stage1", "stage 1 (representation)"),
    2: TrainerSpec(
        LocationPretrainer,
        "stage2",
        "stage 2 (location pretraining)",
        metric="target_accuracy",
        options=("num_targets",),
    ),
    3: TrainerSpec(
        PolicyGradientTrainer,
        "stage3",
        "stage 3 (policy gradient)",
        options=("reward", "full_image_loss_weight"),
    ),
    4: TrainerSpec(ClassNetTrainer, "stage4", "stage 4 (ClassNet classifier)"),
}
"""The trainers of the Saccader's stages 1-3 and of a Saccader-ClassNet's stage 4."""

DRAM_TRAINER = TrainerSpec(DRAMTrainer, "dram", "DRAM (one stage)", options=("reward",))
"""DRAM's one training stage (its weights are kept as stage 3, its final stage)."""


def make_trainer(
    stage,
    model,
    *,
    spec=None,
    weight_decay=0.0,
    num_targets=12,
    full_image_loss_weight=DEFAULT_FULL_IMAGE_LOSS_WEIGHT,
    l2="standard",
    location_weight_decay=None,
    reward="binary",
):
    """The `StageTrainer` of `stage` around `model` (not compiled).

    Args:
        stage: 1, 2, 3 (the Saccader's stages) or 4 (a Saccader-ClassNet's classifier).
        model: the model that stage trains (a `SaccaderClassNet` for stage 4).
        spec: a `TrainerSpec` to use instead of `STAGE_TRAINERS[stage]` (e.g. `DRAM_TRAINER`).
        weight_decay, l2, location_weight_decay: every stage's decay (see `StageTrainer`).
        num_targets: stage 2's targets per image.
        full_image_loss_weight: stage 3's weight of the full-image loss.
        reward: stage 3's (and DRAM's) reward.

    Raises:
        ValueError: an unknown `stage`, or stage 4 with a model that has no classifier.
    """
    if spec is None:
        if stage not in STAGE_TRAINERS:
            raise ValueError(f"`stage` must be 1, 2, 3 or 4. Received: stage={stage!r}")
        spec = STAGE_TRAINERS[stage]
        if stage == 4 and not hasattr(model, "classifier_variables"):
            raise ValueError(
                "Stage 4 trains a Saccader-ClassNet's classifier: pass a "
                f"SaccaderClassNet. Received: {type(model).__name__}"
            )
    return spec.make(
        model,
        weight_decay=weight_decay,
        num_targets=num_targets,
        full_image_loss_weight=full_image_loss_weight,
        l2=l2,
        location_weight_decay=location_weight_decay,
        reward=reward,
    )
