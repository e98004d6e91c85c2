"""`python -m saccader_tf.launch`: train the Saccader in its three stages from the command line.

    python -m saccader_tf.launch                      # all stages on offline cluttered MNIST
    python -m saccader_tf.launch --stage=1 --model_dir=runs/a
    python -m saccader_tf.launch --flagfile=launch/imagenet_bagnet77.cfg --stage=3

Each stage writes `model_dir/stageN/saccader.weights.h5`; stages 2 and 3 start from the previous
stage's checkpoint and stop with the command that creates it when it is missing.
"""

import json
import os
import shlex
import sys

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) hides the progress; set the
# variable yourself to see it again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from saccader_tf import flags as saccader_flags  # noqa: E402

FLAGS = saccader_flags.FLAGS
flags.adopt_module_key_flags(saccader_flags)  # `--help` lists them


def _per_stage(values, name, cast):
    values = [cast(v) for v in values]
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
    if FLAGS.num_glimpses < 1:
        raise app.UsageError(f"--num_glimpses must be >= 1. Received: --num_glimpses={FLAGS.num_glimpses}")
    if FLAGS.batch_size < 1:
        raise app.UsageError(f"--batch_size must be >= 1. Received: --batch_size={FLAGS.batch_size}")
    if FLAGS.devices and FLAGS.strategy != "mirrored":
        raise app.UsageError("--devices needs --strategy=mirrored.")


def build(strategy):
    """Data source and Saccader for the current flags (the model built in the strategy's scope)."""
    from saccader_tf.data import make_source
    from saccader_tf.models import Saccader

    extra = {}
    if FLAGS.dataset == "cluttered_mnist":
        extra = {"num_train": FLAGS.train_examples}
        if FLAGS.num_clutter is not None:
            extra["num_clutter"] = FLAGS.num_clutter
    source = make_source(FLAGS.dataset, image_size=FLAGS.image_size, batch_size=FLAGS.batch_size,
                         seed=FLAGS.seed, data_dir=FLAGS.data_dir, **extra)
    with strategy.scope():
        saccader = Saccader(
            num_classes=source.num_classes, image_size=FLAGS.image_size, variant=FLAGS.model,
            input_channels=source.channels, num_glimpses=FLAGS.num_glimpses, seed=FLAGS.seed,
        )
        saccader.build()
    return source, saccader


def run(stages):
    """Runs `stages` (a list of 1/2/3) and, when all three ran, the policy comparison."""
    import keras

    from saccader_tf import checkpoints
    from saccader_tf.distribute import make_strategy
    from saccader_tf.evaluate import format_policy_table, policy_accuracies
    from saccader_tf.training.run_stage import train_stage

    keras.utils.set_random_seed(FLAGS.seed)
    strategy = make_strategy(FLAGS.strategy, FLAGS.devices)
    source, saccader = build(strategy)
    checkpoints.check_model_config(FLAGS.model_dir, saccader.get_config())
    if stages[0] > 1:
        path = checkpoints.restore_stage(saccader, FLAGS.model_dir, stages[0] - 1, _command_for(stages[0] - 1))
        print(f"restored {path}")
    epochs = _per_stage(FLAGS.epochs, "epochs", int)
    rates = _per_stage(FLAGS.learning_rate, "learning_rate", float)
    summaries = []
    for stage in stages:
        result = train_stage(
            stage, saccader, source, epochs=epochs[stage - 1], learning_rate=rates[stage - 1],
            model_dir=FLAGS.model_dir, weight_decay=FLAGS.weight_decay, num_targets=FLAGS.num_targets,
            steps_per_epoch=FLAGS.steps, eval_steps=FLAGS.eval_steps, optimizer=FLAGS.optimizer,
            jit_compile=FLAGS.jit_compile, verbose=1 if sys.stdout.isatty() else 2, strategy=strategy,
        )
        summaries.append(result["summary"])
        print(result["summary"], flush=True)
    print("\n".join(["", "summary:", *summaries]))
    if stages == [1, 2, 3]:
        accuracies = policy_accuracies(saccader, source.eval, FLAGS.num_glimpses, seed=FLAGS.seed)
        print("\n" + format_policy_table(accuracies, FLAGS.num_glimpses))
        with open(os.path.join(FLAGS.model_dir, "policy_accuracy.json"), "w") as f:
            json.dump({"num_glimpses": FLAGS.num_glimpses, **accuracies}, f, indent=2)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    _validate_flags()
    from saccader_tf.checkpoints import MissingCheckpointError

    stages = [1, 2, 3] if FLAGS.stage == "all" else [int(FLAGS.stage)]
    try:
        run(stages)
    except MissingCheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except ValueError as error:  # configuration problems found before training: say what to change
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
