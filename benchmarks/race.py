"""The time-to-accuracy race: each contender trains for the same wall-clock budget; its test error
is measured at fixed points of its training time (`python -m benchmarks --race`).

The clock of a contender runs while it trains: every step of every phase but the first counts
against the budget, with the data pipeline and `fit`'s own work. Not counted, and reported apart:
each phase's warm-up (building its trainer, tracing the training step and running the first
step: fixed costs, which would otherwise eat the short phases of a short budget) and the
evaluations on the test split (the clock stops during them). Building the model and generating
the data are outside the clock too. A phase stops at the first step that ends past its share of
the budget, so a contender trains for the budget plus at most one step; each phase runs at least
its warm-up step. The learning rate follows a cosine decay over each phase's time share (the
launcher decays over each stage's steps, unknown in advance here), from the launcher's peak rate.
"""

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data.resumable_epochs import batches_per_epoch, training_batches

LEARNING_RATE = 0.002
"""Peak learning rate of every phase: the launcher's default (`--learning_rate`)."""
WEIGHT_DECAY = 8e-5
"""L2 coefficient of every trainer: the launcher's default (`--weight_decay`)."""
EVAL_BATCH = 250
"""Test images per inference call (1,000 test images: 4 calls per evaluation)."""
_DEFAULT_CHUNK = 100  # steps per `fit` call when the source does not state its epoch length


class BudgetCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay over a share of wall-clock time: `lr = peak · (1 + cos(π · f)) / 2`, where
    `f` in [0, 1] is the fraction of the phase's time spent, read from the variable `fraction`
    (set by the race's clock after every step; values outside [0, 1] are clipped).

    Args:
        initial_learning_rate: the peak rate at `f = 0`.
        fraction: a scalar float32 `tf.Variable` holding `f`.
    """

    def __init__(self, initial_learning_rate, fraction):
        self.initial_learning_rate = initial_learning_rate
        self.fraction = fraction

    def __call__(self, step):
        spent = tf.clip_by_value(tf.convert_to_tensor(self.fraction, tf.float32), 0.0, 1.0)
        return self.initial_learning_rate * 0.5 * (1.0 + tf.cos(math.pi * spent))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate}


class Stopwatch:
    """Accumulates the seconds between `start()` and `stop()` calls; `read()` while running too."""

    def __init__(self):
        self._total, self._since = 0.0, None

    def start(self):
        if self._since is None:
            self._since = time.perf_counter()

    def stop(self):
        if self._since is not None:
            self._total += time.perf_counter() - self._since
            self._since = None

    @property
    def running(self):
        return self._since is not None

    def read(self):
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self._total + running


def top1_error(predict_logits, batches):
    """Share of wrong top-1 predictions: `predict_logits(images)` → `[B, K]` over the `(images,
    labels)` pairs of `batches` (a dataset or a list; each example counted once)."""
    wrong = total = 0
    for images, labels in batches:
        predicted = np.argmax(np.asarray(predict_logits(images)), axis=-1)
        wrong += int(np.sum(predicted != np.asarray(labels)))
        total += int(predicted.shape[0])
    if not total:
        raise ValueError(
            "The test split holds no examples, so no test error can be measured: give "
            "the race a data source whose `eval` split yields batches."
        )
    return wrong / total


class _Run:
    """One contender's clock, pending evaluation times and measured points."""

    def __init__(self, key, predict_logits, batches, budget_s, evaluations, progress):
        self.key, self.progress, self.budget_s = key, progress, budget_s
        self.predict_logits, self.batches = predict_logits, batches
        self.clock = Stopwatch()
        self.marks = [budget_s * k / evaluations for k in range(1, evaluations)]
        self.points, self.eval_seconds, self.steps = [], 0.0, 0

    def evaluate(self, phase, phase_steps=0):
        """Measures the test error now, with the training clock stopped."""
        running = self.clock.running
        self.clock.stop()
        seconds, steps = self.clock.read(), self.steps + phase_steps
        start = time.perf_counter()
        error = top1_error(self.predict_logits, self.batches)
        self.eval_seconds += time.perf_counter() - start
        self.points.append({"seconds": seconds, "error": error, "steps": steps, "phase": phase})
        self.progress(
            f"race: {self.key} ({phase}): {steps} steps in {seconds:.1f} s, test error "
            f"{error:.4f} (evaluations so far {self.eval_seconds:.1f} s)"
        )
        if running:
            self.clock.start()


class _PhaseClock(keras.callbacks.Callback):
    """After each step: advances the learning-rate schedule, evaluates at each mark the clock has
    passed, and stops `fit` once the clock reaches `end` (seconds of the contender's clock)."""

    def __init__(self, run, phase, start, end, fraction):
        super().__init__()
        self.run, self.phase, self.start, self.end, self.fraction = run, phase, start, end, fraction
        self.steps, self.done = 0, False
        self.warmup = Stopwatch()  # building the trainer, tracing, the first step: not counted
        self.warmup.start()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == 1:
            self.warmup.stop()
            self.run.clock.start()
        now = self.run.clock.read()
        self.fraction.assign((now - self.start) / max(self.end - self.start, 1e-9))
        if self.run.marks and now >= self.run.marks[0]:
            while self.run.marks and now >= self.run.marks[0]:
                self.run.marks.pop(0)
            self.run.evaluate(self.phase, phase_steps=self.steps)
        if now >= self.end:
            self.done = self.model.stop_training = True


def run_contender(
    contender,
    source,
    *,
    budget_s,
    evaluations,
    seed=0,
    learning_rate=LEARNING_RATE,
    weight_decay=WEIGHT_DECAY,
    eager=False,
    jit_compile=False,
    progress=print,
    test_batches=None,
):
    """Trains one `Contender` for `budget_s` seconds of its clock on `source`; returns its result.

    Args:
        contender: a `benchmarks.race_contenders.Contender`.
        source: a `DataSource`; each phase trains on the launcher's stream of training batches
            (`training_batches`, from the first batch of epoch 0), evaluates on `source.eval`.
        budget_s: seconds of training (see the module docstring for what the clock counts).
        evaluations: test-error measurements after the start: at `budget_s · k / evaluations` for
            k = 1..evaluations − 1 and at the end (plus one of the untrained model at 0 s).
        seed: seeds Keras, the model and its glimpse sampling.
        learning_rate, weight_decay: the peak rate of every phase and the L2 coefficient.
        eager: run the training steps eagerly (quick mode: no tracing; slower steps).
        jit_compile: XLA-compile the training steps (ignored when `eager`).
        progress: called with one line per evaluation and per phase.
        test_batches: `(images, labels)` batches of all of `source.eval` (default: read from it in
            batches of `EVAL_BATCH`).

    Returns:
        A dict: `key`, `label`, `params` (the model's weight count), `steps`, `train_seconds`,
        `eval_seconds`, `warmup_seconds`, `budget_s`, `phases` (name, steps, end and warm-up
        seconds of each) and `points` (`seconds`, `error`, `steps`, `phase` of every evaluation,
        in time order).
    """
    keras.utils.set_random_seed(seed)
    model = contender.build(source.num_classes, source.channels, seed)

    def logits(images):
        return contender.logits(model, images)

    predict = logits if eager else tf.function(logits, reduce_retracing=True)
    if test_batches is None:
        test_batches = list(source.eval.unbatch().batch(EVAL_BATCH))
    run = _Run(contender.key, predict, test_batches, budget_s, evaluations, progress)
    run.evaluate("untrained")
    training = _Training(
        source=source,
        chunk=batches_per_epoch(source) or _DEFAULT_CHUNK,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        eager=eager,
        jit_compile=bool(jit_compile and not eager),
    )
    phases, end = [], 0.0
    for phase in contender.phases:
        end += phase.share * budget_s
        phases.append(_train_phase(run, phase, model, end, training))
    run.evaluate("end")
    return {
        "key": contender.key,
        "label": contender.label,
        "params": int(model.count_params()),
        "steps": run.steps,
        "train_seconds": run.clock.read(),
        "eval_seconds": run.eval_seconds,
        "warmup_seconds": sum(phase["warmup_seconds"] for phase in phases),
        "budget_s": budget_s,
        "phases": phases,
        "points": run.points,
    }


@dataclasses.dataclass(frozen=True)
class _Training:
    """How every phase of a contender trains: the data, the `fit` chunk and the compile options."""

    source: object
    chunk: int
    learning_rate: float
    weight_decay: float
    eager: bool
    jit_compile: bool


def _train_phase(run, phase, model, end, training):
    """Trains `model` with `phase`'s trainer until `run`'s clock reaches `end` seconds; returns
    the phase's record (name, steps, end and warm-up seconds)."""
    start = run.clock.read()
    fraction = tf.Variable(0.0, trainable=False, dtype=tf.float32)
    clock = _PhaseClock(run, phase.name, start, end, fraction)  # starts the warm-up watch
    trainer = phase.make_trainer(model, training.weight_decay)
    trainer.compile(
        optimizer=keras.optimizers.Adam(BudgetCosineDecay(training.learning_rate, fraction)),
        run_eagerly=training.eager,
        jit_compile=training.jit_compile,
    )
    while not clock.done:  # one `fit` per epoch of the launcher's stream, until the time is up
        trainer.fit(
            training_batches(training.source, clock.steps, training.chunk),
            epochs=1,
            steps_per_epoch=training.chunk,
            verbose=0,
            shuffle=False,
            callbacks=[clock],
        )
    run.clock.stop()
    steps = int(trainer.optimizer.iterations.numpy())
    run.steps += steps
    run.progress(
        f"race: {run.key} ({phase.name}): {steps} steps; the phase ended at "
        f"{run.clock.read():.1f} s (its share of the {run.budget_s:g} s ended at "
        f"{end:.1f} s); warm-up (trainer, tracing, first step; not counted) "
        f"{clock.warmup.read():.1f} s"
    )
    return {
        "name": phase.name,
        "steps": steps,
        "end_seconds": run.clock.read(),
        "warmup_seconds": clock.warmup.read(),
    }


def run_race(contenders, source, *, budget_s, evaluations, progress=print, **kwargs):
    """`run_contender` for each contender in turn, the same budget each; returns the results."""
    if not budget_s > 0:
        raise ValueError(
            f"The race budget must be a positive number of seconds. Received: budget_s={budget_s}"
        )
    if evaluations < 1:
        raise ValueError(f"`evaluations` must be >= 1. Received: evaluations={evaluations}")
    # Read once, in batches of EVAL_BATCH: every evaluation sees the same tensors.
    test_batches = list(source.eval.unbatch().batch(EVAL_BATCH))
    return [
        run_contender(
            contender,
            source,
            budget_s=budget_s,
            evaluations=evaluations,
            progress=progress,
            test_batches=test_batches,
            **kwargs,
        )
        for contender in contenders
    ]
