"""`python -m saccader_tf.launch`: train the Saccader in its three stages from the command line
(and, with `--classifier`, a Saccader-ClassNet's classifier as stage 4).

    python -m saccader_tf.launch                      # all stages on offline cluttered MNIST
    python -m saccader_tf.launch --stage=1 --model_dir=runs/a
    python -m saccader_tf.launch --flagfile=launch/imagenet_bagnet77.cfg --stage=3

Each stage writes `model_dir/stageN/saccader.weights.h5`; stages 2 and 3 start from the previous
stage's checkpoint and stop with the command that creates it when it is missing. While a stage runs
its progress is saved every `--save_every_steps` steps; re-running a killed command continues from
the last save, and stages already finished in `model_dir` are skipped (`--retrain` trains them
again).
"""

import os
import shlex
import sys

from absl import app, flags, logging

from saccader_tf.cli import flags as saccader_flags
from saccader_tf.cli.error_report import error_report
from saccader_tf.run import orchestrator as recipe
from saccader_tf.run.settings import RunSettings

FLAGS = saccader_flags.FLAGS
flags.adopt_module_key_flags(saccader_flags)  # `--help` lists them


def _per_stage(values, name, cast):
    try:
        values = [cast(v) for v in values]
    except ValueError:
        raise app.UsageError(
            f"--{name} takes numbers. Received: --{name}={','.join(values)}"
        ) from None
    if len(values) == 1:
        return values * 3  # stage 4 (a ClassNet's classifier) takes stage 1's value
    if len(values) not in (3, 4):
        raise app.UsageError(
            f"--{name} takes one value, three (stages 1, 2, 3) or four (stages "
            f"1-4; stage 4 with --classifier). Received: {values}"
        )
    return values


def _command_for(stage):
    """The command line of this run with `--stage` replaced (quoted in missing-checkpoint errors);
    `--skip_stage2` is left out of a command for stage 1 or 2, where it does not apply."""
    skip_flag = stage not in (3, "3") and stage != "all"

    def kept(arg):
        if arg.startswith("--stage=") or arg == "--stage":
            return False
        return not (skip_flag and arg.split("=")[0] in ("--skip_stage2", "--noskip_stage2"))

    args = [a for a in sys.argv[1:] if kept(a)]
    return shlex.join(["python", "-m", "saccader_tf.launch", f"--stage={stage}", *args])


def _validate_flags():
    """Checks flag combinations before any work (data, model, training) starts."""
    from saccader_tf.models.bagnet import receptive_field
    from saccader_tf.models.bagnet.bagnet import variant_conv_stack
    from saccader_tf.models.bagnet.variants import VARIANTS

    if FLAGS.model not in VARIANTS:
        raise app.UsageError(
            f"--model must be one of {sorted(VARIANTS)}. Received: --model={FLAGS.model}"
        )
    for name in ("batch_size", "num_glimpses", "num_targets", "image_size"):
        if getattr(FLAGS, name) < 1:
            raise app.UsageError(
                f"--{name} must be >= 1. Received: --{name}={getattr(FLAGS, name)}"
            )
    if FLAGS.architecture == "dram":
        _validate_dram_flags()
    _validate_policy_flags()
    _validate_classifier_flags()
    _validate_switch_flags()
    try:  # the models' own limit checks, with flag names
        where = dict(model=FLAGS.model, prefix="--")
        grid = receptive_field.grid_side(FLAGS.image_size, variant_conv_stack(FLAGS.model), **where)
        for name in ("num_glimpses", "num_targets"):
            receptive_field.check_cell_count(
                name, getattr(FLAGS, name), grid, image_size=FLAGS.image_size, **where
            )
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    _per_stage(FLAGS.epochs, "epochs", int)
    _per_stage(FLAGS.learning_rate, "learning_rate", float)
    _validate_ranges()
    if not FLAGS.full_image_loss_weight >= 0:
        raise app.UsageError(
            "--full_image_loss_weight must be >= 0. "
            f"Received: --full_image_loss_weight={FLAGS.full_image_loss_weight}"
        )
    if FLAGS.save_every_steps < 0:
        raise app.UsageError(
            "--save_every_steps must be >= 0. "
            f"Received: --save_every_steps={FLAGS.save_every_steps}"
        )
    if FLAGS.devices and FLAGS.strategy != "mirrored":
        raise app.UsageError("--devices needs --strategy=mirrored.")
    _validate_data_flags()


def _validate_policy_flags():
    """--eval_policies names Saccader policies; --readout=soft is a Saccader option."""
    from saccader_tf.models.saccader.policies import POLICIES

    unknown = [name for name in FLAGS.eval_policies if name not in POLICIES]
    if unknown or not FLAGS.eval_policies:
        raise app.UsageError(
            f"--eval_policies takes names from {', '.join(POLICIES)}. "
            f"Received: --eval_policies={','.join(FLAGS.eval_policies)}"
        )
    if FLAGS.architecture == "dram" and FLAGS.readout != "hard":
        raise app.UsageError(
            "--readout applies to the Saccader; DRAM classifies its glimpses with its own "
            f"network. Received: --readout={FLAGS.readout} --architecture=dram"
        )


def _validate_classifier_flags():
    """--stage=4 needs --classifier; the ClassNet flags need it too, and a size the data has."""
    if FLAGS.classifier == "none":
        given = [
            f"--{name}"
            for name in ("classifier_image_size", "classifier_weights")
            if getattr(FLAGS, name) is not None
        ]
        if FLAGS.stage == "4" or given:
            what = "--stage=4 trains" if FLAGS.stage == "4" else f"{', '.join(given)} configure"
            raise app.UsageError(
                f"{what} a Saccader-ClassNet's classifier: choose one with "
                "--classifier=small_cnn|resnet50_v2|nasnet_large."
            )
        return
    if FLAGS.architecture == "dram":
        raise app.UsageError(
            "--classifier builds a Saccader-ClassNet around the Saccader; DRAM "
            "classifies its glimpses itself. Drop --classifier or use "
            "--architecture=saccader."
        )
    size = FLAGS.classifier_image_size
    if size is not None and size < 1:
        raise app.UsageError(
            f"--classifier_image_size must be >= 1 (or leave it unset). "
            f"Received: --classifier_image_size={size}"
        )
    if FLAGS.dataset == "cluttered_mnist" and size not in (None, FLAGS.image_size):
        raise app.UsageError(
            "The built-in cluttered_mnist is generated at one size "
            "(--image_size), so --classifier_image_size must equal it or stay "
            "unset. Received: "
            f"--classifier_image_size={size} --image_size={FLAGS.image_size}"
        )
    weights = FLAGS.classifier_weights
    if weights is not None and not os.path.isfile(weights):
        raise app.UsageError(
            "--classifier_weights must name an existing local weights file "
            f"(nothing is downloaded). Received: --classifier_weights={weights}"
        )


def _validate_switch_flags():
    """The reproduction switches (issue 12): values that work, and only where they apply."""
    decay = FLAGS.location_weight_decay
    if decay is not None and not 0 <= decay < float("inf"):
        raise app.UsageError(
            "--location_weight_decay must be >= 0 (or leave it unset: "
            f"--weight_decay). Received: --location_weight_decay={decay}"
        )
    tfds = FLAGS.dataset != "cluttered_mnist" and not FLAGS.dataset.startswith("folder:")
    if FLAGS.background_class and not tfds:
        raise app.UsageError(
            "--background_class applies to TFDS datasets (e.g. "
            "--dataset=imagenet2012 for the paper's 1001 classes). Drop it or "
            f"choose a TFDS dataset. Received: --dataset={FLAGS.dataset}"
        )
    if FLAGS.skip_stage2 and (FLAGS.architecture == "dram" or FLAGS.stage not in ("all", "3")):
        raise app.UsageError(
            "--skip_stage2 applies to the Saccader's --stage=all (stages 1 and 3) "
            "and --stage=3 (restoring stage 1). Received: "
            f"--stage={FLAGS.stage} --architecture={FLAGS.architecture}"
        )
    warmup = FLAGS.warmup_epochs
    if not 0 <= warmup < float("inf"):
        raise app.UsageError(f"--warmup_epochs must be >= 0. Received: --warmup_epochs={warmup}")
    epochs = _per_stage(FLAGS.epochs, "epochs", int)
    if FLAGS.stage == "all":
        stages = [1, 3] if FLAGS.skip_stage2 else [1, 2, 3]
        stages += [4] if FLAGS.classifier != "none" else []
    else:
        stages = [int(FLAGS.stage)] if FLAGS.stage.isdigit() else []
    shortest = min((epochs[s - 1] if len(epochs) >= s else epochs[0] for s in stages), default=None)
    if warmup and FLAGS.architecture == "dram":
        shortest = epochs[0]  # DRAM's one stage takes the first value
    if warmup and shortest is not None and warmup >= shortest:
        raise app.UsageError(
            f"--warmup_epochs must be below the epochs of every stage trained "
            f"(the shortest has {shortest}): the warm-up would take the whole "
            f"stage. Received: --warmup_epochs={warmup}"
        )


def _validate_data_flags():
    """Data flags that do not apply to the chosen dataset are refused, not ignored."""
    folder, builtin = FLAGS.dataset.startswith("folder:"), FLAGS.dataset == "cluttered_mnist"
    given = [
        f"--{name}"
        for name, default in (("augment", None), ("flip", None), ("channels", "auto"))
        if getattr(FLAGS, name) != default
    ]
    if builtin and given:
        raise app.UsageError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to image folders and "
            "TFDS datasets; the built-in "
            "cluttered_mnist is used as generated (one channel, no augmentation). Drop the flag(s) "
            "or choose another --dataset."
        )
    if not folder and FLAGS.cache != "auto":
        raise app.UsageError(
            "--cache applies to image folders (--dataset=folder:PATH). "
            f"Received: --cache={FLAGS.cache}"
        )
    if FLAGS.cache_budget_mb < 0:
        raise app.UsageError(
            f"--cache_budget_mb must be >= 0. Received: --cache_budget_mb={FLAGS.cache_budget_mb}"
        )


def _validate_ranges():
    """Flags whose values cannot work (a negative count, an empty path, ...), named with the fix."""
    at_least = {"steps": 1, "eval_steps": 1, "train_examples": 1, "seed": 0, "num_clutter": 0}
    for name, minimum in at_least.items():
        value = getattr(FLAGS, name)
        if value is not None and value < minimum:
            unset = " (or leave it unset)" if FLAGS[name].default is None else ""
            raise app.UsageError(
                f"--{name} must be >= {minimum}{unset}. Received: --{name}={value}"
            )
    if min(_per_stage(FLAGS.epochs, "epochs", int)) < 1:
        raise app.UsageError(
            "--epochs must be >= 1 for every stage (a stage of 0 epochs would leave an "
            f"untrained checkpoint). Received: --epochs={','.join(FLAGS.epochs)}"
        )
    if not all(
        0 < rate < float("inf") for rate in _per_stage(FLAGS.learning_rate, "learning_rate", float)
    ):
        raise app.UsageError(
            "--learning_rate must be positive and finite for every stage (<= 0 would not "
            f"train, or climb the loss). Received: --learning_rate={','.join(FLAGS.learning_rate)}"
        )
    if not FLAGS.model_dir or not FLAGS.model_dir.strip():
        raise app.UsageError(
            "--model_dir must name a directory, e.g. --model_dir=runs/a. Received: --model_dir="
        )
    if os.path.exists(FLAGS.model_dir) and not os.path.isdir(FLAGS.model_dir):
        raise app.UsageError(
            f"--model_dir={FLAGS.model_dir} is a file, not a directory: choose a directory "
            f"path. Received: --model_dir={FLAGS.model_dir}"
        )
    _check_skip_bad_files()
    if FLAGS.skip_bad_files and FLAGS.dataset == "cluttered_mnist":
        raise app.UsageError(
            "--skip_bad_files applies to image folders and TFDS datasets; cluttered_mnist "
            "is generated and has no files."
        )


def _validate_dram_flags():
    """--architecture=dram: a known variant whose glimpse fits the image, and one training stage."""
    from saccader_tf.models.dram.dram import DRAM_VARIANTS

    if FLAGS.dram_model not in DRAM_VARIANTS:
        raise app.UsageError(
            f"--dram_model must be one of {sorted(DRAM_VARIANTS)}. "
            f"Received: --dram_model={FLAGS.dram_model}"
        )
    glimpse = DRAM_VARIANTS[FLAGS.dram_model]["glimpse_size"]
    if FLAGS.image_size < glimpse:
        raise app.UsageError(
            f"--image_size={FLAGS.image_size} is smaller than the {glimpse} px glimpses of "
            f"{FLAGS.dram_model}: use --image_size>={glimpse} or another --dram_model."
        )
    if FLAGS.stage in ("1", "2"):
        raise app.UsageError(
            "--architecture=dram has one training stage: use --stage=all (train, compare "
            f"policies, export), 3 (train only), eval or export. Received: --stage={FLAGS.stage}"
        )


def _check_skip_bad_files():
    """--skip_bad_files reaches TFDS sources only once `tfds_source` takes it (a usage error until
    then)."""
    import inspect

    from saccader_tf.data.tfds_source import tfds_source

    tfds_dataset = FLAGS.dataset != "cluttered_mnist" and not FLAGS.dataset.startswith("folder:")
    if (
        FLAGS.skip_bad_files
        and tfds_dataset
        and "skip_bad_files" not in inspect.signature(tfds_source).parameters
    ):
        raise app.UsageError(
            "--skip_bad_files is not supported for TFDS datasets yet (TFDS decodes the "
            "images itself); it applies to --dataset=folder:PATH. "
            f"Received: --dataset={FLAGS.dataset}"
        )


def settings_from_flags():
    """The `RunSettings` of the parsed flags (after `_validate_flags`)."""
    return RunSettings(
        dataset=FLAGS.dataset,
        data_dir=FLAGS.data_dir,
        num_clutter=FLAGS.num_clutter,
        train_examples=FLAGS.train_examples,
        skip_bad_files=FLAGS.skip_bad_files,
        augment=FLAGS.augment,
        flip=FLAGS.flip,
        channels=FLAGS.channels,
        cache=FLAGS.cache,
        cache_budget_mb=FLAGS.cache_budget_mb,
        model=FLAGS.model,
        architecture=FLAGS.architecture,
        dram_model=FLAGS.dram_model,
        image_size=FLAGS.image_size,
        num_glimpses=FLAGS.num_glimpses,
        num_targets=FLAGS.num_targets,
        readout=FLAGS.readout,
        readout_given=FLAGS["readout"].present,
        eval_policies=tuple(FLAGS.eval_policies),
        eval_policies_given=FLAGS["eval_policies"].present,
        batch_size=FLAGS.batch_size,
        epochs=tuple(_per_stage(FLAGS.epochs, "epochs", int)),
        steps=FLAGS.steps,
        eval_steps=FLAGS.eval_steps,
        learning_rate=tuple(_per_stage(FLAGS.learning_rate, "learning_rate", float)),
        weight_decay=FLAGS.weight_decay,
        full_image_loss_weight=FLAGS.full_image_loss_weight,
        optimizer=FLAGS.optimizer,
        model_dir=FLAGS.model_dir,
        save_every_steps=FLAGS.save_every_steps,
        retrain=FLAGS.retrain,
        seed=FLAGS.seed,
        strategy=FLAGS.strategy,
        devices=tuple(FLAGS.devices),
        jit_compile=FLAGS.jit_compile,
        mixed_precision=FLAGS.mixed_precision,
        classifier=FLAGS.classifier,
        classifier_image_size=FLAGS.classifier_image_size,
        classifier_weights=FLAGS.classifier_weights,
        l2=FLAGS.l2,
        location_weight_decay=FLAGS.location_weight_decay,
        reward=FLAGS.reward,
        background_class=FLAGS.background_class,
        schedule=FLAGS.schedule,
        warmup_epochs=FLAGS.warmup_epochs,
        skip_stage2=FLAGS.skip_stage2,
        command_for=_command_for,
    )


_LOCKS = recipe.LOCKS  # the model_dir lock of this process (released by the OS when it exits)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    # TensorFlow's INFO lines (collective all-reduce, SavedModel assets) would bury the progress.
    logging.set_verbosity(logging.WARNING)
    try:
        _validate_flags()
        recipe.launch(settings_from_flags(), FLAGS.stage)
    except Exception as error:  # noqa: BLE001 (known problems end in one line; others re-raise)
        report = error_report(error, FLAGS.model_dir)
        if report is None:
            raise
        print(f"error: {report[1]}", file=sys.stderr)
        sys.exit(report[0])


def run():
    """The entry point of `python -m saccader_tf.launch` (absl parses the flags, then `main`)."""
    app.run(main)
