"""What a run does differently for each kind of model: the Saccader, the Saccader-ClassNet, DRAM.

The orchestrator (`saccader_tf.run.orchestrator`) has one path for training, evaluating and
exporting any model; everything in which the three kinds differ is asked of a `ModelKind`, chosen
once: from the settings when training (`kind_of_settings`), from what model_dir records when
evaluating or exporting (`kind_of_model_dir`).

    SaccaderKind  trains stages 1, 2, 3 (or 1 and 3); evaluated with the chosen policies, the
                  stage-1 baselines and the occlusion check
    ClassNetKind  the Saccader's stages, then the classifier as stage 4; evaluated like the
                  Saccader on its Saccader, plus the ClassNet's rows
    DRAMKind      one stage, kept as stage 3; evaluated with DRAM's own policies (no stage 1,
                  no occlusion check)

See docs/design.md, "Training stages", "Saccader-ClassNet" and "DRAM"; "Adding a model" says how
a fourth kind fits in.
"""

import dataclasses
import sys

from saccader_tf.evaluation.occlusion import black_value
from saccader_tf.evaluation.stage1_network import load_stage1_network
from saccader_tf.model_dir import lineage, stage_files
from saccader_tf.model_dir.model_config import is_dram_config
from saccader_tf.model_dir.records import load_classnet_config, load_model_config
from saccader_tf.models.dram.dram import DRAM, DRAM_POLICIES
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.run.pretrained_start import pretrained_model_options
from saccader_tf.run.recorded_checks import (
    check_recorded_classifier,
    check_recorded_readout,
    with_readout_flag,
)
from saccader_tf.run.settings import StageSettings
from saccader_tf.training.stage_trainers import DRAM_TRAINER, STAGE_TRAINERS
from saccader_tf.utils.errors import BadValueError


class SaccaderKind:
    """The Saccader: three stages (docs/design.md, "Training stages"); the base of the others."""

    name = "saccader"
    final_stage = 3  # the stage whose file holds the final model

    def model_class(self, settings):
        """`(class, options)`: the model class and its own constructor arguments."""
        options = {"variant": settings.model, "readout": settings.readout}
        if settings.attention_widths:
            options["attention_widths"] = settings.attention_widths
        return Saccader, {**options, **pretrained_model_options(settings)}

    def stages_to_train(self, settings, stages):
        """The stages a run asked for `stages` (a list of 1-4) trains, in order."""
        return list(stages)

    def previous_stage(self, settings, stage):
        """The stage whose checkpoint `stage` starts from (`None`: none)."""
        return settings.previous_stage(stage)

    def check_records(self, settings, stages, recorded):
        """Refuses to continue a model_dir recorded (`recorded`: its model config) with other
        settings than these."""
        check_recorded_readout(settings, recorded)
        check_recorded_classifier(settings, stages)

    def stage_settings(self, settings, stage):
        """The `StageSettings` of `stage`."""
        return settings.stage_settings(stage)

    def trainer_spec(self, stage):
        """The `TrainerSpec` of `stage` (its trainer, title and headline metric)."""
        return STAGE_TRAINERS[stage]

    def wraps_in_classnet(self, stage):
        """Whether `stage` trains a Saccader-ClassNet built around the trained Saccader."""
        return False

    def comparison_options(self, settings):
        """`policy_accuracies` arguments of the comparison after `--stage=all`."""
        return {"policies": tuple(settings.eval_policies)} if settings.eval_policies_given else {}

    def stage1(self, settings, model):
        """The stage-1 network of model_dir for the baselines and occlusion check (or None, said
        on stderr)."""
        problem = lineage.lineage_problem(settings.model_dir, self.final_stage, 1)
        if problem:
            print(
                f"note: the stage-1 file is not the one the final model was trained from "
                f"({problem}): the baselines are measured on the final model only.",
                file=sys.stderr,
            )
            return None
        network = load_stage1_network(model, settings.model_dir)
        if network is None:
            path = stage_files.stage_weights_path(settings.model_dir, 1)
            print(
                f"note: no stage-1 network ({path} is missing): the baselines are measured on the "
                "final model only, which also judges the occlusion check.",
                file=sys.stderr,
            )
        return network

    def evaluated(self, settings, model):
        """`(glimpse model, classnet or None)` that `--stage=eval` measures of the loaded `model`
        (here: read out as `--readout` asks)."""
        return with_readout_flag(settings, model), None

    def evaluation_settings(self, settings, model):
        """The settings whose data source `--stage=eval` reads."""
        return settings

    def evaluation_options(self, settings, source):
        """`evaluate_model` arguments particular to this kind."""
        return {"policies": tuple(settings.eval_policies), "fill_value": black_value(source)}


class ClassNetKind(SaccaderKind):
    """A Saccader-ClassNet: the Saccader's stages, then its classifier as stage 4 on the data at
    the classifier's size S_cls (docs/design.md, "Saccader-ClassNet")."""

    name = "classnet"
    final_stage = 4

    def wraps_in_classnet(self, stage):
        return stage == 4

    def evaluated(self, settings, model):
        saccader = model.saccader
        if settings.readout_given and settings.readout != saccader.readout:
            raise BadValueError(
                f"{settings.model_dir} holds a Saccader-ClassNet, evaluated as trained "
                f"(--readout={saccader.readout}): drop --readout. "
                f"Received: --readout={settings.readout}"
            )
        return saccader, model

    def evaluation_settings(self, settings, model):
        return dataclasses.replace(settings, image_size=model.classifier_image_size)


class DRAMKind(SaccaderKind):
    """DRAM: one training stage, kept as stage 3 (its final stage, so model_dirs of every version
    load alike), evaluated with its own policies (docs/design.md, "DRAM")."""

    name = "dram"

    def model_class(self, settings):
        return DRAM, {"variant": settings.dram_model}

    def stages_to_train(self, settings, stages):
        if settings.skip_stage2:
            raise BadValueError(
                "skip_stage2 applies to the Saccader's three stages; DRAM has one "
                "training stage. Received: skip_stage2=True, architecture='dram'"
            )
        if stages != settings.stages and list(stages) != [3]:
            raise BadValueError(
                "DRAM has one training stage: run 'all' (train, compare policies, export) or 3 "
                f"(train only). Received: stages={list(stages)}, architecture='dram'"
            )
        return [3]

    def previous_stage(self, settings, stage):
        return None

    def check_records(self, settings, stages, recorded):
        pass  # DRAM has no readout and no ClassNet to disagree with

    def stage_settings(self, settings, stage):
        # The first --epochs / --learning_rate value; num_targets and the full-image weight are
        # Saccader settings, kept at their defaults (they are part of the recorded stage plan).
        return dataclasses.replace(
            settings.stage_settings(3),
            epochs=settings.epochs[0],
            learning_rate=settings.learning_rate[0],
            num_targets=StageSettings.num_targets,
            full_image_loss_weight=StageSettings.full_image_loss_weight,
        )

    def trainer_spec(self, stage):
        return DRAM_TRAINER

    def comparison_options(self, settings):
        return {"policies": DRAM_POLICIES}

    def stage1(self, settings, model):
        return None  # DRAM has no stage 1, and no BagNet to give the baselines

    def evaluated(self, settings, model):
        return model, None  # evaluated as trained (it has no readout to change)

    def evaluation_options(self, settings, source):
        return {"policies": DRAM_POLICIES, "occlusion_glimpses": ()}


def kind_of_settings(settings):
    """The kind a run of `settings` trains: DRAM (`architecture="dram"`), a Saccader-ClassNet (a
    `classifier`) or the Saccader."""
    if settings.architecture == "dram":
        return DRAMKind()
    return SaccaderKind() if settings.classifier == "none" else ClassNetKind()


def kind_of_model_dir(model_dir):
    """The kind of the model `model_dir` records: a Saccader-ClassNet (`classnet_config.json`),
    DRAM (a DRAM variant in `model_config.json`) or the Saccader."""
    if load_classnet_config(model_dir) is not None:
        return ClassNetKind()
    return DRAMKind() if is_dram_config(load_model_config(model_dir)) else SaccaderKind()
