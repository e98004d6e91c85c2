"""`python -m saccader_tf.launch`: train the Saccader in its three stages from the command line.

    python -m saccader_tf.launch                      # all stages on offline cluttered MNIST
    python -m saccader_tf.launch --stage=1 --model_dir=runs/a
    python -m saccader_tf.launch --flagfile=launch/imagenet_bagnet77.cfg --stage=3

Each stage writes `model_dir/stageN/saccader.weights.h5`; stages 2 and 3 start from the previous
stage's checkpoint and stop with the command that creates it when it is missing. While a stage runs
its progress is saved every `--save_every_steps` steps; re-running a killed command continues from
the last save, and stages already finished in `model_dir` are skipped (`--retrain` trains them again).
"""

import json
import os
import shlex
import sys

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) hides the progress; set the
# variable yourself to see it again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21's oneDNN kernels can corrupt memory in BagNet training steps on CPUs where they
# are on by default (seen on AMD EPYC with AVX-512 BF16: segfault / "double free" in a stage-1
# step of bagnet9_tiny at 56 px); they stay off unless the user sets TF_ENABLE_ONEDNN_OPTS=1.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from absl import app, flags  # noqa: E402

from saccader_tf import flags as saccader_flags  # noqa: E402

FLAGS = saccader_flags.FLAGS
flags.adopt_module_key_flags(saccader_flags)  # `--help` lists them


def _per_stage(values, name, cast):
    try:
        values = [cast(v) for v in values]
    except ValueError:
        raise app.UsageError(f"--{name} takes numbers. Received: --{name}={','.join(values)}") from None
    if len(values) == 1:
        return values * 3
    if len(values) != 3:
        raise app.UsageError(f"--{name} takes one value or three (stages 1, 2, 3). Received: {values}")
    return values


def _command_for(stage):
    """The command line of this run with `--stage` replaced (quoted in missing-checkpoint errors)."""
    args = [a for a in sys.argv[1:] if not a.startswith("--stage=") and a != "--stage"]
    return shlex.join(["python", "-m", "saccader_tf.launch", f"--stage={stage}", *args])


def _validate_flags():
    """Checks flag combinations before any work (data, model, training) starts."""
    from saccader_tf.models import receptive_field
    from saccader_tf.models.bagnet import variant_conv_stack
    from saccader_tf.models.bagnet_variants import VARIANTS

    if FLAGS.model not in VARIANTS:
        raise app.UsageError(f"--model must be one of {sorted(VARIANTS)}. Received: --model={FLAGS.model}")
    for name in ("batch_size", "num_glimpses", "num_targets", "image_size"):
        if getattr(FLAGS, name) < 1:
            raise app.UsageError(f"--{name} must be >= 1. Received: --{name}={getattr(FLAGS, name)}")
    if FLAGS.architecture == "dram":
        _validate_dram_flags()
    _validate_policy_flags()
    try:  # the models' own limit checks, with flag names
        where = dict(model=FLAGS.model, prefix="--")
        grid = receptive_field.grid_side(FLAGS.image_size, variant_conv_stack(FLAGS.model), **where)
        for name in ("num_glimpses", "num_targets"):
            receptive_field.check_cell_count(name, getattr(FLAGS, name), grid,
                                             image_size=FLAGS.image_size, **where)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    _per_stage(FLAGS.epochs, "epochs", int)
    _per_stage(FLAGS.learning_rate, "learning_rate", float)
    _validate_ranges()
    if not FLAGS.full_image_loss_weight >= 0:
        raise app.UsageError("--full_image_loss_weight must be >= 0. "
                             f"Received: --full_image_loss_weight={FLAGS.full_image_loss_weight}")
    if FLAGS.save_every_steps < 0:
        raise app.UsageError(
            f"--save_every_steps must be >= 0. Received: --save_every_steps={FLAGS.save_every_steps}")
    if FLAGS.devices and FLAGS.strategy != "mirrored":
        raise app.UsageError("--devices needs --strategy=mirrored.")
    _validate_data_flags()


def _validate_policy_flags():
    """--eval_policies names Saccader policies; --readout=soft is a Saccader option."""
    from saccader_tf.models.policies import POLICIES

    unknown = [name for name in FLAGS.eval_policies if name not in POLICIES]
    if unknown or not FLAGS.eval_policies:
        raise app.UsageError(f"--eval_policies takes names from {', '.join(POLICIES)}. "
                             f"Received: --eval_policies={','.join(FLAGS.eval_policies)}")
    if FLAGS.architecture == "dram" and FLAGS.readout != "hard":
        raise app.UsageError("--readout applies to the Saccader; DRAM classifies its glimpses with its own "
                             f"network. Received: --readout={FLAGS.readout} --architecture=dram")


def _validate_data_flags():
    """Data flags that do not apply to the chosen dataset are refused, not ignored."""
    folder, builtin = FLAGS.dataset.startswith("folder:"), FLAGS.dataset == "cluttered_mnist"
    given = [f"--{name}" for name, default in (("augment", None), ("flip", None), ("channels", "auto"))
             if getattr(FLAGS, name) != default]
    if builtin and given:
        raise app.UsageError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to image folders and "
            "TFDS datasets; the built-in "
            "cluttered_mnist is used as generated (one channel, no augmentation). Drop the flag(s) "
            "or choose another --dataset.")
    if not folder and FLAGS.cache != "auto":
        raise app.UsageError(
            f"--cache applies to image folders (--dataset=folder:PATH). Received: --cache={FLAGS.cache}")
    if FLAGS.cache_budget_mb < 0:
        raise app.UsageError(
            f"--cache_budget_mb must be >= 0. Received: --cache_budget_mb={FLAGS.cache_budget_mb}")


def _validate_ranges():
    """Flags whose values cannot work (a negative count, an empty path, ...), named with the fix."""
    at_least = {"steps": 1, "eval_steps": 1, "train_examples": 1, "seed": 0, "num_clutter": 0}
    for name, minimum in at_least.items():
        value = getattr(FLAGS, name)
        if value is not None and value < minimum:
            unset = " (or leave it unset)" if FLAGS[name].default is None else ""
            raise app.UsageError(f"--{name} must be >= {minimum}{unset}. Received: --{name}={value}")
    if min(_per_stage(FLAGS.epochs, "epochs", int)) < 1:
        raise app.UsageError("--epochs must be >= 1 for every stage (a stage of 0 epochs would leave an "
                             f"untrained checkpoint). Received: --epochs={','.join(FLAGS.epochs)}")
    if not all(0 < rate < float("inf") for rate in _per_stage(FLAGS.learning_rate, "learning_rate", float)):
        raise app.UsageError("--learning_rate must be positive and finite for every stage (<= 0 would not "
                             f"train, or climb the loss). Received: --learning_rate={','.join(FLAGS.learning_rate)}")
    if not FLAGS.model_dir or not FLAGS.model_dir.strip():
        raise app.UsageError("--model_dir must name a directory, e.g. --model_dir=runs/a. Received: --model_dir=")
    if os.path.exists(FLAGS.model_dir) and not os.path.isdir(FLAGS.model_dir):
        raise app.UsageError(f"--model_dir={FLAGS.model_dir} is a file, not a directory: choose a directory "
                             f"path. Received: --model_dir={FLAGS.model_dir}")
    _check_skip_bad_files()
    if FLAGS.skip_bad_files and FLAGS.dataset == "cluttered_mnist":
        raise app.UsageError("--skip_bad_files applies to image folders and TFDS datasets; cluttered_mnist "
                             "is generated and has no files.")


def _validate_dram_flags():
    """--architecture=dram: a known variant whose glimpse fits the image, and one training stage."""
    from saccader_tf.models.dram import DRAM_VARIANTS

    if FLAGS.dram_model not in DRAM_VARIANTS:
        raise app.UsageError(f"--dram_model must be one of {sorted(DRAM_VARIANTS)}. "
                             f"Received: --dram_model={FLAGS.dram_model}")
    glimpse = DRAM_VARIANTS[FLAGS.dram_model]["glimpse_size"]
    if FLAGS.image_size < glimpse:
        raise app.UsageError(f"--image_size={FLAGS.image_size} is smaller than the {glimpse} px glimpses of "
                             f"{FLAGS.dram_model}: use --image_size>={glimpse} or another --dram_model.")
    if FLAGS.stage in ("1", "2"):
        raise app.UsageError("--architecture=dram has one training stage: use --stage=all (train, compare "
                             f"policies, export), 3 (train only), eval or export. Received: --stage={FLAGS.stage}")


def _check_skip_bad_files():
    """--skip_bad_files reaches TFDS sources only once `tfds_source` takes it (a usage error until then)."""
    import inspect

    from saccader_tf.data.tfds_source import tfds_source

    tfds_dataset = FLAGS.dataset != "cluttered_mnist" and not FLAGS.dataset.startswith("folder:")
    if FLAGS.skip_bad_files and tfds_dataset and "skip_bad_files" not in inspect.signature(tfds_source).parameters:
        raise app.UsageError("--skip_bad_files is not supported for TFDS datasets yet (TFDS decodes the "
                             f"images itself); it applies to --dataset=folder:PATH. Received: --dataset={FLAGS.dataset}")


def _source():
    import contextlib

    from saccader_tf.data import make_source
    from saccader_tf.data.tfds_download import explained_download

    common = dict(image_size=FLAGS.image_size, batch_size=FLAGS.batch_size, seed=FLAGS.seed,
                  data_dir=FLAGS.data_dir)
    if FLAGS.dataset == "cluttered_mnist":
        extra = {"num_train": FLAGS.train_examples}
        if FLAGS.num_clutter is not None:
            extra["num_clutter"] = FLAGS.num_clutter
        return make_source(FLAGS.dataset, **common, **extra)
    folder = FLAGS.dataset.startswith("folder:")
    extra = dict(augment=FLAGS.augment or "light", flip=FLAGS.flip,
                 channels=FLAGS.channels if FLAGS.channels == "auto" else int(FLAGS.channels))
    if folder:
        extra.update(cache=FLAGS.cache, cache_budget_bytes=FLAGS.cache_budget_mb << 20)
    # Folders and TFDS datasets read files (TFDS: `skip_bad_files` passed only when asked for).
    if folder or FLAGS.skip_bad_files:
        extra["skip_bad_files"] = FLAGS.skip_bad_files
    with contextlib.nullcontext() if folder else explained_download(FLAGS.dataset, FLAGS.data_dir):
        return make_source(FLAGS.dataset, **common, **extra)


def build(strategy):
    """Data source and Saccader (or DRAM) for the current flags (the model built in the strategy's scope)."""
    from saccader_tf.models import Saccader

    source = _source()
    if FLAGS.architecture == "dram":
        return source, _build_dram(strategy, source)
    with strategy.scope():
        saccader = Saccader(
            num_classes=source.num_classes, image_size=FLAGS.image_size, variant=FLAGS.model,
            input_channels=source.channels, num_glimpses=FLAGS.num_glimpses, seed=FLAGS.seed,
            readout=FLAGS.readout,
        )
        saccader.build()
    return source, saccader


def _build_dram(strategy, source):
    from saccader_tf.models.dram import DRAM

    with strategy.scope():
        dram = DRAM(num_classes=source.num_classes, image_size=FLAGS.image_size, variant=FLAGS.dram_model,
                    input_channels=source.channels, num_glimpses=FLAGS.num_glimpses, seed=FLAGS.seed)
        dram.build()
    return dram


def _run_dram(compare_and_export):
    """--architecture=dram: its one training stage (stored as stage 3), then with --stage=all the
    policy comparison (learned, random, center) and the export."""
    import keras

    from saccader_tf.training import checkpoints
    from saccader_tf.training import multi_worker
    from saccader_tf.training.distribute import make_strategy
    from saccader_tf.evaluation.evaluate import format_policy_table, policy_accuracies
    from saccader_tf.models.dram import DRAM_POLICIES
    from saccader_tf.training.run_stage import train_stage

    keras.utils.set_random_seed(FLAGS.seed)
    strategy = make_strategy(FLAGS.strategy, FLAGS.devices)
    source, dram = build(strategy)
    chief = multi_worker.is_chief(strategy)
    if chief:
        checkpoints.check_model_config(FLAGS.model_dir, dram.get_config())
        checkpoints.record_preprocessing(FLAGS.model_dir, source)
    if not FLAGS.retrain and checkpoints.stage_finished(FLAGS.model_dir, 3):
        path = checkpoints.restore_stage(dram, FLAGS.model_dir, 3, _command_for(3))
        print(f"DRAM: already trained in {path}; skipped (--retrain trains it again)", flush=True)
    else:
        print(train_stage(
            3, dram, source, epochs=int(FLAGS.epochs[0]), learning_rate=float(FLAGS.learning_rate[0]),
            model_dir=FLAGS.model_dir, weight_decay=FLAGS.weight_decay, steps_per_epoch=FLAGS.steps,
            eval_steps=FLAGS.eval_steps, optimizer=FLAGS.optimizer, jit_compile=FLAGS.jit_compile,
            verbose=1 if sys.stdout.isatty() else 2, strategy=strategy,
            save_every_steps=FLAGS.save_every_steps, restart=FLAGS.retrain,
        )["summary"].replace("stage 3 (policy gradient)", "DRAM (one stage)"), flush=True)
    if compare_and_export and chief:
        accuracies = policy_accuracies(dram, source.eval, FLAGS.num_glimpses, policies=DRAM_POLICIES,
                                       seed=FLAGS.seed)
        print("\n" + format_policy_table(accuracies, FLAGS.num_glimpses))
        with open(os.path.join(FLAGS.model_dir, "policy_accuracy.json"), "w") as f:
            json.dump({"num_glimpses": FLAGS.num_glimpses, **accuracies}, f, indent=2)
        export(dram)


def run(stages):
    """Runs `stages` (a list of 1/2/3) and, when all three ran, the policy comparison."""
    if FLAGS.architecture == "dram":
        return _run_dram(compare_and_export=stages == [1, 2, 3])
    import keras

    from saccader_tf.training import checkpoints
    from saccader_tf.training import multi_worker
    from saccader_tf.training.distribute import make_strategy
    from saccader_tf.training.model_dir_lock import ModelDirLock
    from saccader_tf.evaluation.evaluate import format_policy_table, policy_accuracies
    from saccader_tf.training.run_stage import STAGE_NAMES, train_stage

    keras.utils.set_random_seed(FLAGS.seed)
    strategy = make_strategy(FLAGS.strategy, FLAGS.devices)
    if multi_worker.is_chief(strategy):  # one launcher per model_dir, held until this process ends
        _LOCKS.append(ModelDirLock(FLAGS.model_dir).__enter__())
    source, saccader = build(strategy)
    # Every file under model_dir is written by the chief only (other workers only read from it).
    chief = multi_worker.is_chief(strategy)
    if chief:
        checkpoints.check_model_config(FLAGS.model_dir, saccader.get_config())
        _check_recorded_readout(checkpoints.load_model_config(FLAGS.model_dir))
        checkpoints.record_preprocessing(FLAGS.model_dir, source)
    if stages[0] > 1:
        path = checkpoints.restore_stage(saccader, FLAGS.model_dir, stages[0] - 1, _command_for(stages[0] - 1))
        print(f"restored {path}")
    epochs = _per_stage(FLAGS.epochs, "epochs", int)
    rates = _per_stage(FLAGS.learning_rate, "learning_rate", float)
    summaries = []
    for stage in stages:
        if not FLAGS.retrain and checkpoints.stage_finished(FLAGS.model_dir, stage):
            path = checkpoints.restore_stage(saccader, FLAGS.model_dir, stage, _command_for(stage))
            summary = (f"stage {stage} ({STAGE_NAMES[stage]}): already finished in {path}; skipped "
                       "(--retrain trains it again)")
        else:
            summary = train_stage(
                stage, saccader, source, epochs=epochs[stage - 1], learning_rate=rates[stage - 1],
                model_dir=FLAGS.model_dir, weight_decay=FLAGS.weight_decay, num_targets=FLAGS.num_targets,
                full_image_loss_weight=FLAGS.full_image_loss_weight,
                steps_per_epoch=FLAGS.steps, eval_steps=FLAGS.eval_steps, optimizer=FLAGS.optimizer,
                jit_compile=FLAGS.jit_compile, verbose=1 if sys.stdout.isatty() else 2, strategy=strategy,
                save_every_steps=FLAGS.save_every_steps, restart=FLAGS.retrain,
            )["summary"]
        summaries.append(summary)
        print(summary, flush=True)
    print("\n".join(["", "summary:", *summaries]))
    if stages == [1, 2, 3] and chief:
        chosen = {"policies": tuple(FLAGS.eval_policies)} if FLAGS["eval_policies"].present else {}
        accuracies = policy_accuracies(saccader, source.eval, FLAGS.num_glimpses, seed=FLAGS.seed,
                                       stage1=_stage1_network(saccader), **chosen)
        print("\n" + format_policy_table(accuracies, FLAGS.num_glimpses))
        with open(os.path.join(FLAGS.model_dir, "policy_accuracy.json"), "w") as f:
            json.dump({"num_glimpses": FLAGS.num_glimpses, **accuracies}, f, indent=2)
        export(saccader)


def evaluate():
    """`--stage=eval`: the full evaluation table and pictures of a trained model_dir."""
    from saccader_tf.evaluation import pictures
    from saccader_tf.evaluation.evaluate import evaluate_model, format_table, write_results
    from saccader_tf.export import load_trained_saccader
    from saccader_tf.evaluation.occlusion import black_value

    saccader = _with_readout_flag(load_trained_saccader(FLAGS.model_dir))
    source = _source()
    out_dir = os.path.join(FLAGS.model_dir, "evaluation")
    if _is_dram(saccader):  # DRAM's own policies; no BagNet to judge an occlusion check
        from saccader_tf.models.dram import DRAM_POLICIES

        result = evaluate_model(saccader, source, max_glimpses=12, policies=DRAM_POLICIES, seed=FLAGS.seed,
                                max_batches=FLAGS.eval_steps, occlusion_glimpses=())
        return _write_evaluation(saccader, result, source, out_dir)
    result = evaluate_model(saccader, source, max_glimpses=12, seed=FLAGS.seed,
                            policies=tuple(FLAGS.eval_policies), stage1=_stage1_network(saccader),
                            max_batches=FLAGS.eval_steps, fill_value=black_value(source))
    _write_evaluation(saccader, result, source, out_dir)


def _check_recorded_readout(recorded):
    """Training continues a model_dir only with the readout it was started with (`recorded`: its config)."""
    readout = recorded.get("readout", "hard")  # model_dirs from before the option are hard
    if readout != FLAGS.readout:
        raise ValueError(f"{FLAGS.model_dir} holds a model trained with --readout={readout}: use it again, "
                         f"or a new --model_dir. Received: --readout={FLAGS.readout}")


def _with_readout_flag(model):
    """--stage=eval with an explicit --readout: the trained weights read out that way (an ablation);
    otherwise the model as recorded in model_dir."""
    if not FLAGS["readout"].present or _is_dram(model) or model.readout == FLAGS.readout:
        return model
    other = type(model).from_config({**model.get_config(), "readout": FLAGS.readout})
    other.build()
    other.set_weights(model.get_weights())
    print(f"note: evaluating with --readout={FLAGS.readout} (trained with --readout={model.readout})",
          file=sys.stderr)
    return other


def _is_dram(model):
    from saccader_tf.models.dram import DRAM

    return isinstance(model, DRAM)


def _write_evaluation(model, result, source, out_dir):
    """Prints the table; writes its JSON/CSV, the accuracy-vs-T plot and glimpse pictures."""
    from saccader_tf.evaluation import pictures
    from saccader_tf.evaluation.evaluate import format_table, write_results

    print("\n" + format_table(result))
    paths = write_results(result, out_dir)
    pictures.plot_accuracy_vs_glimpses(result, os.path.join(out_dir, "accuracy_vs_glimpses.png"))
    images, labels = next(iter(source.eval))[:2]
    pictures.plot_model_glimpses(model, images[:8], os.path.join(out_dir, "glimpses.png"),
                            labels=labels[:8], num_glimpses=FLAGS.num_glimpses)
    print(f"wrote {paths['json']}, {paths['csv']} and pictures in {out_dir}")


def _stage1_network(saccader):
    """The stage-1 network of --model_dir for the baselines and the occlusion check (or None, said)."""
    from saccader_tf.training.checkpoints import stage_weights_path
    from saccader_tf.evaluation.stage1_network import load_stage1_network

    network = load_stage1_network(saccader, FLAGS.model_dir)
    if network is None:
        print(f"note: no stage-1 network ({stage_weights_path(FLAGS.model_dir, 1)} is missing, or the "
              "model has no stage 1): the baselines are measured on the final model only, which also "
              "judges the occlusion check.", file=sys.stderr)
    return network


def export(saccader=None):
    """`--stage=export` (and the end of `--stage=all`): a SavedModel under model_dir/export."""
    from saccader_tf.training import checkpoints
    from saccader_tf.export import export_saccader, load_trained_saccader

    saccader = saccader or load_trained_saccader(FLAGS.model_dir)
    preprocessing = checkpoints.load_preprocessing(FLAGS.model_dir)
    path = export_saccader(
        saccader, os.path.join(FLAGS.model_dir, "export"), mean=preprocessing["mean"],
        std=preprocessing["std"], crop_fraction=preprocessing["crop_fraction"],
    )
    print(f"exported SavedModel to {path} (load it with tf.saved_model.load)")


_LOCKS = []  # the model_dir lock of this process (released by the OS when it exits)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from absl import logging

    # TensorFlow's INFO lines (collective all-reduce, SavedModel assets) would bury the progress.
    logging.set_verbosity(logging.WARNING)
    try:
        _validate_flags()
        if FLAGS.stage in ("eval", "export") and os.path.isdir(FLAGS.model_dir):
            from saccader_tf.training.model_dir_lock import ModelDirLock

            _LOCKS.append(ModelDirLock(FLAGS.model_dir).__enter__())  # training takes it in run()
        if FLAGS.stage == "eval":
            evaluate()
        elif FLAGS.stage == "export":
            export()
        else:
            run([1, 2, 3] if FLAGS.stage == "all" else [int(FLAGS.stage)])
    except Exception as error:  # noqa: BLE001 (known problems end in one line; others re-raise)
        from saccader_tf.training.error_report import error_report

        report = error_report(error, FLAGS.model_dir)
        if report is None:
            raise
        print(f"error: {report[1]}", file=sys.stderr)
        sys.exit(report[0])


if __name__ == "__main__":
    app.run(main)
