"""Stage-1 training steps *with their input pipeline*: an image folder against the built-in source.

The built-in cluttered MNIST is written as a PNG folder (`saccader_tf.data.write_folder`), so both
sources hold the same images. For each source a fresh model trains stage 1 through one `fit` on the
step-addressed stream that `train_stage` consumes (`training_batches`): warm-up steps first (they
trace the step and fill the prefetch queue), then timed steps, measured between batch ends. The
sources take turns for `rounds` rounds and the fastest round of each is kept, so a burst of other
load on the machine does not decide the ratio. The folder source reads with its defaults (`light`
recipe, `channels="auto"`), once from its decode-once cache and once streamed (decoded every
epoch).
"""

import dataclasses
import tempfile
import time

import keras

from saccader_tf.data import image_folder_source, make_source
from saccader_tf.data.resumable_epochs import training_batches
from saccader_tf.data.write_folder import write_cluttered_mnist_folder
from saccader_tf.training.train_stage import make_optimizer, make_trainer

SOURCES = ("builtin", "folder_cached", "folder_streamed")


@dataclasses.dataclass(frozen=True)
class SourceTimings:
    """Seconds per stage-1 step, input included, of each source in `SOURCES`; `examples` images."""

    seconds: dict
    examples: int

    def ratio(self, name):
        """`name`'s step time over the built-in source's."""
        return self.seconds[name] / self.seconds["builtin"]


def time_folder_against_builtin(
    setup, build_model, *, examples, steps, warmup=3, rounds=2, progress=None
):
    """Times stage-1 steps of `setup`'s model on the three sources (see the module docstring).

    Args:
        setup: a `plan.ModelSetup` (its image size and batch size are used).
        build_model: callable `setup -> built Saccader`.
        examples: training images written and read.
        steps: timed steps per round.
        warmup: untimed steps per round.
        rounds: rounds; the fastest of each source is kept.
        progress: optional callable taking a message.

    Returns:
        A `SourceTimings`.
    """
    say = progress or (lambda message: None)
    with tempfile.TemporaryDirectory() as root:
        say(f"folder: writing {examples} cluttered-MNIST PNGs")
        write_cluttered_mnist_folder(
            root,
            image_size=setup.image_size,
            num_train=examples,
            num_eval=setup.batch_size,
            seed=0,
            progress=False,
        )
        common = dict(image_size=setup.image_size, batch_size=setup.batch_size, seed=0)
        sources = {
            "builtin": make_source(
                "cluttered_mnist", num_train=examples, num_eval=setup.batch_size, **common
            ),
            "folder_cached": image_folder_source(root, cache="memory", **common),
            "folder_streamed": image_folder_source(root, cache="stream", **common),
        }
        best = {}
        for round_index in range(rounds):
            for name, source in sources.items():
                say(f"folder: round {round_index + 1}/{rounds}, {name}: {warmup} + {steps} steps")
                seconds = _seconds_per_step(build_model(setup), source, steps=steps, warmup=warmup)
                best[name] = min(best.get(name, seconds), seconds)
    return SourceTimings(best, examples)


def _seconds_per_step(saccader, source, *, steps, warmup):
    """Mean seconds of steps `warmup + 1 .. warmup + steps` of one `fit` (steady state: the fit's
    start-up and the first steps' tracing are not counted)."""
    trainer = make_trainer(1, saccader, weight_decay=8e-5)
    trainer.compile(optimizer=make_optimizer("adam", 1e-4, total_steps=1000), jit_compile=False)
    clock = _StepClock(warmup)
    total = warmup + steps
    trainer.fit(
        training_batches(source, 0, total),
        steps_per_epoch=total,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[clock],
    )
    return (clock.end - clock.start) / steps


class _StepClock(keras.callbacks.Callback):
    """Wall time from the end of step `warmup` to the end of the last step."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if batch + 1 == self.warmup:
            self.start = now
        self.end = now
