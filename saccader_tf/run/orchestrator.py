"""The run behind `python -m saccader_tf.launch`, callable from Python: train, evaluate, export.

    from saccader_tf.run.orchestrator import launch
    from saccader_tf.run.settings import RunSettings

    launch(RunSettings(model="bagnet9_tiny", image_size=28, epochs=(1, 1, 1), steps=2,
                       model_dir="runs/tiny"), "all")

One path for every model: what differs between the Saccader, the Saccader-ClassNet and DRAM is
asked of their `ModelKind` (`saccader_tf.run.model_kinds`). `run` builds the data and the model,
then trains the stages in order, each handing its weights to the next through
`model_dir/stageN/saccader.weights.h5` (a finished stage is skipped unless `retrain`; a later stage
restores the one before it); after all the stages of `--stage=all` come the policy comparison and
the export. `evaluate` and `export` rebuild the final model from model_dir. `launch` holds the
model_dir lock (one launcher per model_dir; under multi-worker only the chief, the one process
that writes under model_dir) while it runs. Progress lines go to stdout, notes to stderr.
"""

import contextlib
import dataclasses
import os
import sys

import keras

from saccader_tf.data.eval_subsets import spread_eval
from saccader_tf.data.preprocessing import resize_method_of
from saccader_tf.evaluation.evaluate import evaluate_model, policy_accuracies
from saccader_tf.export.layout import new_version_dir
from saccader_tf.export.savedmodel import export_model
from saccader_tf.layers import kernel_choice
from saccader_tf.model_dir import files, lineage, stage_files
from saccader_tf.model_dir.lock import ModelDirLock
from saccader_tf.model_dir.model_config import load_trained_model
from saccader_tf.model_dir.preprocessing_record import (
    PREPROCESSING_FILE,
    load_preprocessing,
    record_differences,
    record_preprocessing,
)
from saccader_tf.model_dir.records import (
    check_classnet_config,
    check_model_config,
    load_model_config,
)
from saccader_tf.models.classnet.classnet import IMAGENET, SaccaderClassNet
from saccader_tf.models.dtype_policy import model_dtype
from saccader_tf.run.model_kinds import kind_of_model_dir, kind_of_settings
from saccader_tf.run.predict_checks import PREDICT_STAGE
from saccader_tf.run.predict_stage import predict
from saccader_tf.run.pretrained_start import (
    check_imagenet_download,
    origin_line,
    pretrained_settings,
    start_from_weights,
)
from saccader_tf.run.recorded_checks import (
    check_recorded_classes,
    check_recorded_classifier,
    check_recorded_readout,
    float32_config,
    recorded_model_settings,
    with_readout_flag,
)
from saccader_tf.run.reports import write_evaluation, write_policy_comparison
from saccader_tf.run.sources import data_source, training_callbacks
from saccader_tf.training import multi_worker
from saccader_tf.training.distribute import make_strategy
from saccader_tf.training.train_stage import train_stage

__all__ = [
    "build",
    "build_classnet",
    "check_recorded_classifier",
    "check_recorded_readout",
    "classnet_source",
    "data_source",
    "evaluate",
    "export",
    "float32_config",
    "launch",
    "run",
    "with_readout_flag",
]


def launch(settings, stage):
    """Runs what `--stage` asks for, holding the model_dir lock until it is done.

    Args:
        settings: a `RunSettings`.
        stage: `"all"` (every training stage of the model, the policy comparison and the export),
            `"eval"`, `"export"`, `"predict"` (`saccader_tf.run.predict_stage`), or a stage
            number (int or str: 1, 2, 3 or 4).

    Raises:
        ModelDirBusyError: another process holds the lock on `settings.model_dir`.
    """
    settings.validate(stage)  # SettingsError naming the setting, before any work
    settings = pretrained_settings(settings)  # RGB and its recipe when stage 1 is pretrained
    kernel_choice.set_kernels(settings.kernels)
    if stage in ("eval", "export", PREDICT_STAGE):
        print(kernel_choice.choice_line(), flush=True)
        exists = files.isdir(settings.model_dir)  # else the step below says what is missing
        step = {"eval": evaluate, "export": export, PREDICT_STAGE: predict}[stage]
        with ModelDirLock(settings.model_dir) if exists else contextlib.nullcontext():
            step(settings)
        return
    stages = settings.stages if stage == "all" else [int(stage)]
    strategy = _seeded_strategy(settings)
    # After the strategy: listing devices would fix them before multi-worker collectives are set.
    print(kernel_choice.choice_line(), flush=True)
    chief = multi_worker.is_chief(strategy)  # the other workers write nothing under model_dir
    with ModelDirLock(settings.model_dir) if chief else contextlib.nullcontext():
        run(settings, stages, strategy=strategy)
    multi_worker.wait_for_every_worker(strategy)  # the chief may still evaluate: exit together


def _seeded_strategy(settings):
    """The run's `tf.distribute.Strategy`, created after seeding every random generator."""
    keras.utils.set_random_seed(settings.seed)
    return make_strategy(
        settings.strategy,
        list(settings.devices),
        cluster_resolver=settings.cluster_resolver,
        cluster_port=settings.cluster_port,
    )


def build(settings, strategy):
    """Data source and model of `settings` (a Saccader or DRAM; built in the strategy scope)."""
    source = data_source(settings, chief=multi_worker.is_chief(strategy))
    model_class, options = kind_of_settings(settings).model_class(settings)
    with strategy.scope():
        model = model_class(
            num_classes=source.num_classes,
            image_size=settings.image_size,
            input_channels=source.channels,
            num_glimpses=settings.num_glimpses,
            seed=settings.seed,
            dtype=model_dtype(settings.mixed_precision),
            **options,
        )
        model.build()
    return source, model


def build_classnet(settings, strategy, saccader, source):
    """The Saccader-ClassNet of `settings.classifier` around the (trained) `saccader`, built in
    the strategy's scope; with ImageNet classifier weights it is told `source`'s normalisation
    (its classifier turns the glimpses back into the pixels those weights expect)."""
    normalization = {}
    if settings.classifier_weights == IMAGENET:
        normalization = {"input_mean": source.mean, "input_std": source.std}
    with strategy.scope():
        classnet = SaccaderClassNet(
            saccader,
            settings.classifier,
            classifier_image_size=settings.classnet_image_size,
            classifier_weights=settings.classifier_weights,
            dtype=model_dtype(settings.mixed_precision),
            **normalization,
        )
        classnet.build()
    return classnet


def classnet_source(settings, source):
    """The data at the ClassNet's size S_cls: `source` itself when S_cls is the Saccader's size."""
    if settings.classnet_image_size == source.image_size:
        return source
    return data_source(dataclasses.replace(settings, image_size=settings.classnet_image_size))


def run(settings, stages, strategy=None):
    """Trains `stages` and, when they are all of `settings.stages` (`--stage=all`), compares the
    policies and exports the final model.

    A Saccader-ClassNet's stage 4 wraps the Saccader (holding stage 3's weights) in a
    `SaccaderClassNet`, records its config (`classnet_config.json`) and trains (or restores) the
    whole ClassNet, on the data at the classifier's size. DRAM trains its one stage, kept as
    stage 3.

    Args:
        settings: a `RunSettings`.
        stages: the stage numbers asked for (a list of 1-4).
        strategy: the `tf.distribute.Strategy` to train under (default: seeds every generator and
            makes the one of `settings`). Only its chief writes under model_dir.
    """
    settings = pretrained_settings(settings)
    kind = kind_of_settings(settings)
    to_train = kind.stages_to_train(settings, stages)
    check_imagenet_download(settings, to_train)  # offline: one line now, not after stage 3
    strategy = strategy or _seeded_strategy(settings)
    source, model = build(settings, strategy)
    chief = multi_worker.is_chief(strategy)
    if chief:
        check_model_config(settings.model_dir, float32_config(model))
        kind.check_records(settings, stages, load_model_config(settings.model_dir))
    previous = kind.previous_stage(settings, to_train[0])  # stage 1 for 3 with skip_stage2
    imported = start_from_weights(settings, model, to_train[0], previous, chief)
    if previous and not (imported and previous == 1):  # an import is stage 1, in memory
        command = settings.command(previous)
        path = stage_files.restore_stage(model, settings.model_dir, previous, command)
        print(f"restored {path}")
    summaries, classnet, final_source = [], None, source
    decisions = stage_decisions(settings, kind, to_train)  # before anything is written
    trained = [stage for stage in to_train if decisions[stage][0]]
    for stage in to_train:
        if kind.wraps_in_classnet(stage):
            classnet = build_classnet(settings, strategy, model, source)
            final_source = classnet_source(settings, source)
            if chief:
                check_classnet_config(settings.model_dir, float32_config(classnet))
        run_stage = _StageRun(settings, kind, stage, decisions[stage], chief)
        first = trained[:1] == [stage]
        summaries.append(
            run_stage(classnet or model, final_source, strategy, source if first else None)
        )
    print("\n".join(["", "summary:", *summaries]))
    if chief and not trained:
        keep_preprocessing_record(settings.model_dir, source)
    if stages == settings.stages and chief:  # --stage=all
        accuracies = policy_accuracies(
            model,
            evaluation_batches(final_source, settings.eval_steps),
            settings.num_glimpses,
            seed=settings.seed,
            stage1=kind.stage1(settings, model),
            classnet=classnet,
            **kind.comparison_options(settings),
        )
        write_policy_comparison(settings, accuracies)
        # A mixed-precision model is exported as model_dir records it: in float32.
        export(settings, None if settings.mixed_precision != "none" else classnet or model)


def evaluation_batches(source, eval_steps):
    """The evaluation batches of `source`: `eval_steps` of them spread over the split
    (`spread_eval`; `None`: all of them)."""
    return spread_eval(source, eval_steps)


def stage_decisions(settings, kind, to_train):
    """`{stage: (trains, why_again)}` for the stages of a run, decided before any is trained.

    A stage trains when `retrain` is set, when it has not finished, or when what it was trained
    from has changed: its parent's file differs from the one it recorded
    (`lineage.parent_change`), or its parent trains in this run. `why_again` is that reason (one
    sentence; such a stage starts from scratch), or `None`.
    """
    decisions, model_dir = {}, settings.model_dir
    for stage in to_train:
        parent = kind.previous_stage(settings, stage)
        why = None
        if parent and decisions.get(parent, (False,))[0]:
            why = f"its parent, stage {parent}, trains in this run"
        elif parent:
            why = lineage.parent_change(model_dir, stage, parent)
        on_disk = files.exists(stage_files.stage_weights_path(model_dir, stage)) or (
            files.exists(stage_files.progress_dir(model_dir, stage))
        )
        why = why if on_disk and not settings.retrain else None
        finished = stage_files.stage_finished(model_dir, stage)
        decisions[stage] = (settings.retrain or not finished or bool(why), why)
    return decisions


class _StageRun:
    """One stage of a run, trained or restored as `stage_decisions` decided (a stage trained
    again because its parent changed says so on stdout and starts from scratch). The chief
    records, before the stage trains, what it starts from (`lineage.record_parent`)."""

    def __init__(self, settings, kind, stage, decision, chief):
        self.settings, self.kind, self.stage, self.chief = settings, kind, stage, chief
        self.trains, self.why = decision
        self.parent = kind.previous_stage(settings, stage)

    def __call__(self, model, source, strategy, record_source=None):
        """Trains (or restores) the stage of `model` on `source`; prints and returns its summary
        line. `record_source`: the `DataSource` whose preprocessing the chief records first."""
        settings, stage, model_dir = self.settings, self.stage, self.settings.model_dir
        spec = self.kind.trainer_spec(stage)
        if not self.trains:
            path = stage_files.restore_stage(model, model_dir, stage, settings.command(stage))
            summary = (
                f"{spec.title}: already finished in {path}; skipped (--retrain trains it again)"
            )
            print(summary, flush=True)
            return summary
        stage_settings = self.kind.stage_settings(settings, stage)
        if self.why:
            print(f"stage {stage}: trained again from scratch: {self.why}", flush=True)
            stage_settings = dataclasses.replace(stage_settings, restart=True)
        if self.chief:
            if record_source is not None:
                record_preprocessing(model_dir, record_source)
            if self.parent:
                lineage.record_parent(model_dir, stage, self.parent)
        result = train_stage(
            stage,
            model,
            source,
            stage_settings,
            model_dir=model_dir,
            strategy=strategy,
            trainer_spec=spec,
            **_extra_callbacks(settings),
        )
        print(result["summary"], flush=True)
        return result["summary"]


def _extra_callbacks(settings):
    """`{"callbacks": [...]}` when the run adds callbacks to its stages (`training_callbacks`),
    else `{}` (`train_stage`'s own default)."""
    callbacks = training_callbacks(settings)
    return {"callbacks": callbacks} if callbacks else {}


def keep_preprocessing_record(model_dir, source):
    """After a run that trained no stage: the recorded preprocessing stays (the stage files were
    trained with it); flags that would record another one are said in one line on stderr. A
    missing or unusable record is written from `source`, said too."""
    differences = record_differences(model_dir, source)
    if differences is None:
        record_preprocessing(model_dir, source)
        print(
            f"note: {model_dir}/{PREPROCESSING_FILE} was missing or unusable: written from these "
            "flags (every stage was skipped).",
            file=sys.stderr,
        )
    elif differences:
        print(
            f"note: every stage was skipped, so {model_dir}/{PREPROCESSING_FILE} keeps the "
            f"preprocessing the stages were trained with, not these flags' "
            f"({'; '.join(differences)}); --retrain trains with these flags.",
            file=sys.stderr,
        )


def evaluate(settings):
    """`--stage=eval`: the full evaluation table and pictures of a trained model_dir, written to
    model_dir/evaluation (of a Saccader-ClassNet: its Saccader's rows and the ClassNet's, on the
    data at the classifier's size)."""
    settings = recorded_model_settings(settings, "eval")
    model = load_trained_model(settings.model_dir)
    kind = kind_of_model_dir(settings.model_dir)
    glimpse_model, classnet = kind.evaluated(settings, model)
    source = data_source(kind.evaluation_settings(settings, model), evaluation_only=True)
    check_recorded_classes(settings, source)
    result = evaluate_model(
        glimpse_model,
        source,
        max_glimpses=12,
        seed=settings.seed,
        max_batches=settings.eval_steps,
        stage1=kind.stage1(settings, glimpse_model),
        classnet=classnet,
        progress=True,
        per_class_glimpses=settings.num_glimpses,
        **kind.evaluation_options(settings, source),
    )
    write_evaluation(settings, glimpse_model, result, source, classnet=classnet)
    if origin_line(settings.model_dir):
        print(origin_line(settings.model_dir))


def export(settings, model=None):
    """`--stage=export` (and the end of `--stage=all`): a SavedModel of `model` (default: the
    final model rebuilt from model_dir) in the next version folder model_dir/export/<v>, with the
    recorded preprocessing and class names (docs/serving.md)."""
    if model is None:  # --stage=export
        recorded_model_settings(settings, "export")  # refuses flags that contradict the record
        model = load_trained_model(settings.model_dir)
    preprocessing = load_preprocessing(settings.model_dir)
    path = export_model(
        model,
        new_version_dir(os.path.join(settings.model_dir, "export")),
        mean=preprocessing["mean"],
        std=preprocessing["std"],
        crop_fraction=preprocessing["crop_fraction"],
        resize_method=resize_method_of(preprocessing.get("recipe")),
        class_names=preprocessing.get("class_names"),
    )
    print(f"exported SavedModel to {path} (docs/serving.md: load it with tf.saved_model.load)")
