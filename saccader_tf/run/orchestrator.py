"""The stage recipe behind `python -m saccader_tf.launch`, callable from Python.

    from saccader_tf.run.orchestrator import launch
    from saccader_tf.run.settings import RunSettings

    launch(RunSettings(model="bagnet9_tiny", image_size=28, epochs=(1, 1, 1), steps=2,
                       model_dir="runs/tiny"), "all")

Data and model from a `RunSettings`; the stages in order, each handing its weights to the next
through `model_dir/stageN/saccader.weights.h5` (a finished stage is skipped unless `retrain`; a
later stage restores the one before it, stage 3 restores stage 1 with `skip_stage2`); after all
the stages of `--stage=all`, the policy comparison and the export. The model_dir lock (one
launcher per model_dir) and the multi-worker rule (only the chief writes under model_dir) live
here too. Progress lines go to stdout, notes to stderr.
"""

import contextlib
import dataclasses
import json
import os
import sys

import keras

from saccader_tf.data import make_source
from saccader_tf.data.preprocessing import resize_method_of
from saccader_tf.data.tfds_download import explained_download
from saccader_tf.evaluation import pictures
from saccader_tf.evaluation.evaluate import (
    evaluate_model,
    format_policy_table,
    format_table,
    policy_accuracies,
    write_results,
)
from saccader_tf.evaluation.occlusion import black_value
from saccader_tf.evaluation.stage1_network import load_stage1_network
from saccader_tf.export.savedmodel import export_model
from saccader_tf.model_dir import stage_files as checkpoints
from saccader_tf.model_dir.lock import ModelDirLock
from saccader_tf.models import Saccader
from saccader_tf.models.classnet.classnet import SaccaderClassNet
from saccader_tf.models.dram.dram import DRAM, DRAM_POLICIES
from saccader_tf.models.dtype_policy import model_dtype
from saccader_tf.run.settings import StageSettings
from saccader_tf.training import multi_worker
from saccader_tf.training.distribute import make_strategy
from saccader_tf.training.train_stage import STAGE_NAMES, train_stage

LOCKS = []
"""The model_dir locks this process holds (released by the OS when it exits)."""


def launch(settings, stage):
    """Runs what `--stage` asks for: `"eval"`, `"export"`, `"all"` (1, 2, 3, and 4 with a
    `classifier`) or one stage number.

    Args:
        settings: a `RunSettings`.
        stage: `"all"`, `"eval"`, `"export"`, or a stage number (int or str: 1, 2, 3 or 4).
    """
    if stage in ("eval", "export") and os.path.isdir(settings.model_dir):
        LOCKS.append(ModelDirLock(settings.model_dir).__enter__())  # training takes it in run()
    if stage == "eval":
        evaluate(settings)
    elif stage == "export":
        export(settings)
    else:
        run(settings, settings.stages if stage == "all" else [int(stage)])


def data_source(settings):
    """The `DataSource` of `settings.dataset` (a TFDS download without network explained)."""
    common = dict(
        image_size=settings.image_size,
        batch_size=settings.batch_size,
        seed=settings.seed,
        data_dir=settings.data_dir,
    )
    if settings.dataset == "cluttered_mnist":
        extra = {"num_train": settings.train_examples}
        if settings.num_clutter is not None:
            extra["num_clutter"] = settings.num_clutter
        return make_source(settings.dataset, **common, **extra)
    folder = settings.dataset.startswith("folder:")
    channels = settings.channels if settings.channels == "auto" else int(settings.channels)
    extra = dict(augment=settings.augment or "light", flip=settings.flip, channels=channels)
    if folder:
        extra.update(cache=settings.cache, cache_budget_bytes=settings.cache_budget_mb << 20)
    # Folders and TFDS datasets read files (TFDS: `skip_bad_files` passed only when asked for).
    if folder or settings.skip_bad_files:
        extra["skip_bad_files"] = settings.skip_bad_files
    if settings.background_class:  # TFDS only (the launcher refuses it for other data)
        extra["background_class"] = True
    download = (
        contextlib.nullcontext()
        if folder
        else explained_download(settings.dataset, settings.data_dir)
    )
    with download:
        return make_source(settings.dataset, **common, **extra)


def build(settings, strategy):
    """Data source and Saccader (or DRAM) of `settings` (the model built in the strategy scope)."""
    source = data_source(settings)
    if settings.architecture == "dram":
        model_class, options = DRAM, {"variant": settings.dram_model}
    else:
        model_class, options = Saccader, {"variant": settings.model, "readout": settings.readout}
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


def build_classnet(settings, strategy, saccader):
    """The Saccader-ClassNet of `settings.classifier` around the (trained) `saccader`, built in
    the strategy's scope."""
    with strategy.scope():
        classnet = SaccaderClassNet(
            saccader,
            settings.classifier,
            classifier_image_size=settings.classnet_image_size,
            classifier_weights=settings.classifier_weights,
            dtype=model_dtype(settings.mixed_precision),
        )
        classnet.build()
    return classnet


def classnet_source(settings, source):
    """The data at the ClassNet's size S_cls: `source` itself when S_cls is the Saccader's size."""
    if settings.classnet_image_size == source.image_size:
        return source
    return data_source(dataclasses.replace(settings, image_size=settings.classnet_image_size))


def check_recorded_classifier(settings, stages):
    """`--stage=all` without `--classifier` on a model_dir holding a Saccader-ClassNet would export
    the Saccader over the ClassNet's export: refused, naming the recorded classifier."""
    recorded = checkpoints.load_classnet_config(settings.model_dir)
    if recorded is None or settings.classifier != "none" or stages != settings.stages:
        return
    name = recorded.get("classifier")
    raise ValueError(
        f"{settings.model_dir} holds a Saccader-ClassNet (--classifier={name}): pass "
        "it again to continue with it, or use a new --model_dir for the Saccader "
        "alone. Received: --classifier=none"
    )


def float32_config(model):
    """`model.get_config()` as model_dir records it: float32 (`--mixed_precision` is a training
    setting, so `--stage=eval` and `--stage=export` rebuild the model in float32)."""
    return {**model.get_config(), "dtype": "float32"}


def run(settings, stages):
    """Runs `stages` (a list of 1/2/3/4) and, after `--stage=all`, the policy comparison and
    export (of the Saccader-ClassNet when stage 4 ran).

    Stage 4 wraps the Saccader (holding stage 3's weights) in a `SaccaderClassNet`, records its
    config (`classnet_config.json`) and trains (or restores) the whole ClassNet as stage 4, on the
    data at the classifier's size.
    """
    if settings.architecture == "dram":
        if settings.skip_stage2:
            raise ValueError(
                "skip_stage2 applies to the Saccader's three stages; DRAM has one "
                "training stage. Received: skip_stage2=True, architecture='dram'"
            )
        return _run_dram(settings, compare_and_export=stages == [1, 2, 3])
    keras.utils.set_random_seed(settings.seed)
    strategy = make_strategy(settings.strategy, list(settings.devices))
    if multi_worker.is_chief(strategy):  # one launcher per model_dir, held until this process ends
        LOCKS.append(ModelDirLock(settings.model_dir).__enter__())
    source, saccader = build(settings, strategy)
    # Every file under model_dir is written by the chief only (other workers only read from it).
    chief = multi_worker.is_chief(strategy)
    if chief:
        checkpoints.check_model_config(settings.model_dir, float32_config(saccader))
        check_recorded_readout(settings, checkpoints.load_model_config(settings.model_dir))
        check_recorded_classifier(settings, stages)
        checkpoints.record_preprocessing(settings.model_dir, source)
    previous = settings.previous_stage(stages[0])  # stage 1 for stage 3 with skip_stage2
    if previous:
        path = checkpoints.restore_stage(
            saccader, settings.model_dir, previous, settings.command(previous)
        )
        print(f"restored {path}")
    summaries, classnet, stage_source = [], None, source
    for stage in stages:
        model = saccader
        if stage == 4:
            classnet = model = build_classnet(settings, strategy, saccader)
            stage_source = classnet_source(settings, source)
            if chief:
                checkpoints.check_classnet_config(settings.model_dir, float32_config(classnet))
        if not settings.retrain and checkpoints.stage_finished(settings.model_dir, stage):
            path = checkpoints.restore_stage(
                model, settings.model_dir, stage, settings.command(stage)
            )
            summary = (
                f"stage {stage} ({STAGE_NAMES[stage]}): already finished in {path}; skipped "
                "(--retrain trains it again)"
            )
        else:
            summary = train_stage(
                stage,
                model,
                stage_source,
                settings.stage_settings(stage),
                model_dir=settings.model_dir,
                strategy=strategy,
            )["summary"]
        summaries.append(summary)
        print(summary, flush=True)
    print("\n".join(["", "summary:", *summaries]))
    if stages == settings.stages and chief:  # --stage=all
        chosen = {"policies": tuple(settings.eval_policies)} if settings.eval_policies_given else {}
        stage1 = stage1_network(settings, saccader)
        accuracies = policy_accuracies(
            saccader,
            stage_source.eval,
            settings.num_glimpses,
            seed=settings.seed,
            stage1=stage1,
            classnet=classnet,
            **chosen,
        )
        _write_policy_comparison(settings, accuracies)
        # A mixed-precision model is exported as model_dir records it: in float32.
        export(settings, None if settings.mixed_precision != "none" else classnet or saccader)


def _run_dram(settings, compare_and_export):
    """--architecture=dram: its one training stage (stored as stage 3), then with --stage=all the
    policy comparison (learned, random, center) and the export."""
    keras.utils.set_random_seed(settings.seed)
    strategy = make_strategy(settings.strategy, list(settings.devices))
    source, dram = build(settings, strategy)
    chief = multi_worker.is_chief(strategy)
    if chief:
        checkpoints.check_model_config(settings.model_dir, float32_config(dram))
        checkpoints.record_preprocessing(settings.model_dir, source)
    if not settings.retrain and checkpoints.stage_finished(settings.model_dir, 3):
        path = checkpoints.restore_stage(dram, settings.model_dir, 3, settings.command(3))
        print(f"DRAM: already trained in {path}; skipped (--retrain trains it again)", flush=True)
    else:
        # The first --epochs / --learning_rate value; num_targets and the full-image weight are
        # Saccader settings, kept at their defaults (they are part of the recorded stage plan).
        stage = dataclasses.replace(
            settings.stage_settings(3),
            epochs=settings.epochs[0],
            learning_rate=settings.learning_rate[0],
            num_targets=StageSettings.num_targets,
            full_image_loss_weight=StageSettings.full_image_loss_weight,
        )
        result = train_stage(
            3, dram, source, stage, model_dir=settings.model_dir, strategy=strategy
        )
        summary = result["summary"].replace("stage 3 (policy gradient)", "DRAM (one stage)")
        print(summary, flush=True)
    if compare_and_export and chief:
        accuracies = policy_accuracies(
            dram, source.eval, settings.num_glimpses, policies=DRAM_POLICIES, seed=settings.seed
        )
        _write_policy_comparison(settings, accuracies)
        export(settings, None if settings.mixed_precision != "none" else dram)  # float32


def _write_policy_comparison(settings, accuracies):
    """Prints the policy table and writes it to model_dir/policy_accuracy.json."""
    print("\n" + format_policy_table(accuracies, settings.num_glimpses))
    with open(os.path.join(settings.model_dir, "policy_accuracy.json"), "w") as f:
        json.dump({"num_glimpses": settings.num_glimpses, **accuracies}, f, indent=2)


def evaluate(settings):
    """`--stage=eval`: the full evaluation table and pictures of a trained model_dir."""
    model = checkpoints.load_trained_model(settings.model_dir)
    if isinstance(model, SaccaderClassNet):
        return _evaluate_classnet(settings, model)
    saccader = with_readout_flag(settings, model)
    source = data_source(settings)
    out_dir = os.path.join(settings.model_dir, "evaluation")
    if isinstance(saccader, DRAM):  # DRAM's own policies; no BagNet to judge an occlusion check
        result = evaluate_model(
            saccader,
            source,
            max_glimpses=12,
            policies=DRAM_POLICIES,
            seed=settings.seed,
            max_batches=settings.eval_steps,
            occlusion_glimpses=(),
        )
        return _write_evaluation(settings, saccader, result, source, out_dir)
    result = evaluate_model(
        saccader,
        source,
        max_glimpses=12,
        seed=settings.seed,
        policies=tuple(settings.eval_policies),
        stage1=stage1_network(settings, saccader),
        max_batches=settings.eval_steps,
        fill_value=black_value(source),
    )
    _write_evaluation(settings, saccader, result, source, out_dir)


def _evaluate_classnet(settings, classnet):
    """`--stage=eval` of a Saccader-ClassNet: its Saccader's rows (policies, stage-1 baselines,
    occlusion check) and the ClassNet's rows, on the data at the classifier's size."""
    saccader = classnet.saccader
    if settings.readout_given and settings.readout != saccader.readout:
        raise ValueError(
            f"{settings.model_dir} holds a Saccader-ClassNet, evaluated as trained "
            f"(--readout={saccader.readout}): drop --readout. "
            f"Received: --readout={settings.readout}"
        )
    size = classnet.classifier_image_size
    source = data_source(dataclasses.replace(settings, image_size=size))
    result = evaluate_model(
        saccader,
        source,
        max_glimpses=12,
        seed=settings.seed,
        policies=tuple(settings.eval_policies),
        stage1=stage1_network(settings, saccader),
        max_batches=settings.eval_steps,
        fill_value=black_value(source),
        classnet=classnet,
    )
    _write_evaluation(
        settings,
        saccader,
        result,
        source,
        os.path.join(settings.model_dir, "evaluation"),
        classnet=classnet,
    )


def check_recorded_readout(settings, recorded):
    """Training continues a model_dir only with the readout it was started with (`recorded`: its
    config)."""
    readout = recorded.get("readout", "hard")  # model_dirs from before the option are hard
    if readout != settings.readout:
        raise ValueError(
            f"{settings.model_dir} holds a model trained with --readout={readout}: "
            "use it again, or a new --model_dir. "
            f"Received: --readout={settings.readout}"
        )


def with_readout_flag(settings, model):
    """--stage=eval with an explicit --readout: the trained weights read out that way (an ablation);
    otherwise the model as recorded in model_dir."""
    if not settings.readout_given or isinstance(model, DRAM) or model.readout == settings.readout:
        return model
    other = type(model).from_config({**model.get_config(), "readout": settings.readout})
    other.build()
    other.set_weights(model.get_weights())
    print(
        f"note: evaluating with --readout={settings.readout} (trained with "
        f"--readout={model.readout})",
        file=sys.stderr,
    )
    return other


def _write_evaluation(settings, model, result, source, out_dir, classnet=None):
    """Prints the table; writes its JSON/CSV, the accuracy-vs-T plot and glimpse pictures (of a
    ClassNet: its Saccader's glimpses, on the images at the Saccader's size)."""
    print("\n" + format_table(result))
    paths = write_results(result, out_dir)
    pictures.plot_accuracy_vs_glimpses(result, os.path.join(out_dir, "accuracy_vs_glimpses.png"))
    images, labels = next(iter(source.eval))[:2]
    if classnet is not None:
        images = classnet.saccader_inputs(images)
    pictures.plot_model_glimpses(
        model,
        images[:8],
        os.path.join(out_dir, "glimpses.png"),
        labels=labels[:8],
        num_glimpses=settings.num_glimpses,
    )
    print(f"wrote {paths['json']}, {paths['csv']} and pictures in {out_dir}")


def stage1_network(settings, saccader):
    """The stage-1 network of model_dir for the baselines and occlusion check (or None, said)."""
    network = load_stage1_network(saccader, settings.model_dir)
    if network is None:
        path = checkpoints.stage_weights_path(settings.model_dir, 1)
        print(
            f"note: no stage-1 network ({path} is missing, or the model has no stage 1): the "
            "baselines are measured on the final model only, which also judges the occlusion "
            "check.",
            file=sys.stderr,
        )
    return network


def export(settings, saccader=None):
    """`--stage=export` (and the end of `--stage=all`): a SavedModel under model_dir/export."""
    saccader = saccader or checkpoints.load_trained_model(settings.model_dir)  # a ClassNet too
    preprocessing = checkpoints.load_preprocessing(settings.model_dir)
    path = export_model(
        saccader,
        os.path.join(settings.model_dir, "export"),
        mean=preprocessing["mean"],
        std=preprocessing["std"],
        crop_fraction=preprocessing["crop_fraction"],
        resize_method=resize_method_of(preprocessing.get("recipe")),
    )
    print(f"exported SavedModel to {path} (load it with tf.saved_model.load)")
