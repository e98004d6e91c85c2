"""Where stages 2 and 3 spend their time: their steps against stage 1's, and their parts.

One `StageParts` measurement of a `plan.ModelSetup` times, interleaved in rounds (so that the load
of a shared machine hits all alike; `timing.time_interleaved`), the three stages' compiled
training steps (as `training_throughput.time_stage_step` does) and, each as its own `tf.function`
on the same batch, the parts of a stage-2 and a stage-3 step:

- stage 2: the frozen BagNet's forward pass (inference mode, no gradient); the attention network,
  the mixer and the cell's `num_targets` teacher-forced steps, each forward + backward (the
  gradient of the sum of its outputs w.r.t. its weights and, where the step needs it, its input);
  the loss (targets and cross-entropy, forward + backward);
- stage 3: the BagNet forward + backward (training mode); the attention network (with its input
  gradient), the mixer and the cell's `num_glimpses` steps (the sampling loop and the
  differentiable logits) forward + backward; the losses (REINFORCE, glimpse and full-image
  cross-entropies);
- the rest of a step (the optimizer update, weight decay, metrics, dispatch) is the step's time
  minus its parts';
- two single layers: the attention network's first dilated 3x3 convolution forward + backward as
  TensorFlow's dilated `Conv2D` (what the model runs) and as the patch matmul the model ran on
  CPUs before (`benchmarks/patch_conv.py`), on the grid of this size.

The parts are separate graphs, so their sum is not exactly the step (no fusion across them, each
pays its own dispatch); the rest can therefore come out slightly negative.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from benchmarks.patch_conv import same_dilated_conv2d
from benchmarks.timing import time_interleaved
from benchmarks.training_throughput import STAGES, random_batch
from saccader_tf.training.losses import (
    correct_prediction_reward,
    glimpse_cross_entropy,
    location_pretraining_loss,
    per_location_cross_entropy,
    policy_log_probs,
    reinforce_loss,
    top_cells_targets,
)
from saccader_tf.training.train_stage import make_optimizer, make_trainer

STAGE_PARTS = {
    2: (
        "frozen BagNet forward",
        "attention network",
        "mixer",
        "cell (teacher-forced steps)",
        "loss",
    ),
    3: (
        "BagNet forward + backward",
        "attention network",
        "mixer",
        "cell (glimpse steps)",
        "losses",
    ),
}
DILATED = ("dilated 3x3 conv: patch matmul", "dilated 3x3 conv: tf Conv2D")


@dataclasses.dataclass(frozen=True)
class StageParts:
    """Median seconds of the three stage steps and of the parts, measured in one process.

    Attributes:
        label: the setup's label; grid: its cell grid side.
        steps: `{stage: seconds}` for stages 1, 2, 3.
        parts: `{stage: {part name: seconds}}` for stages 2 and 3 (`STAGE_PARTS`).
        dilated: `{name: seconds}` of the two dilated-convolution kernels (`DILATED`).
        rounds: timed rounds.
    """

    label: str
    grid: int
    steps: dict
    parts: dict
    dilated: dict
    rounds: int

    def ratio(self, stage):
        """Step time of `stage` over stage 1's."""
        return self.steps[stage] / self.steps[1]

    def to_numbers(self):
        return {key: value for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_numbers(cls, numbers):
        as_int = lambda d: {int(k): v for k, v in d.items()}  # noqa: E731 (JSON keys are str)
        return cls(
            **{**numbers, "steps": as_int(numbers["steps"]), "parts": as_int(numbers["parts"])}
        )


def measure_stage_parts(saccader, setup, *, rounds, warmup=2, with_parts=True):
    """A `StageParts` of `saccader` (built from `setup`, a `plan.ModelSetup`); its weights change
    (the stage steps are real training steps). `with_parts=False` times the three steps only
    (`parts` and `dilated` are then empty)."""
    images, labels = random_batch(saccader, setup.batch_size)
    calls = {}
    for stage in STAGES:
        trainer = make_trainer(stage, saccader, weight_decay=8e-5, num_targets=setup.num_targets)
        trainer.compile(optimizer=make_optimizer("adam", 1e-4, total_steps=1000))
        calls[("step", stage)] = lambda t=trainer: t.train_on_batch(images, labels)
    functions = {}
    if with_parts:
        functions.update(_stage2_parts(saccader, images, setup.num_targets))
        functions.update(_stage3_parts(saccader, images, labels))
        functions.update(_dilated_parts(saccader, setup.batch_size))
    for key, fn in functions.items():
        calls[key] = lambda f=fn: tf.nest.map_structure(lambda x: x.numpy(), f())
    seconds = time_interleaved(calls, repeats=rounds, warmup=warmup)
    median = {key: float(np.median(value)) for key, value in seconds.items()}
    return StageParts(
        label=setup.label,
        grid=saccader.grid,
        steps={stage: median[("step", stage)] for stage in STAGES},
        parts={
            s: {name: median[(s, name)] for name in STAGE_PARTS[s] if (s, name) in median}
            for s in (2, 3)
        },
        dilated={name: median[key] for name in DILATED if (key := ("dilated", name)) in median},
        rounds=rounds,
    )


def _backward(forward, variables, watched=()):
    """A `tf.function`: forward + the gradient of the sum of its float outputs w.r.t. `variables`
    and the `watched` tensors."""

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch(list(watched))
            outputs = tf.nest.flatten(forward())
            total = tf.add_n([tf.reduce_sum(tf.cast(x, tf.float32)) for x in outputs])
        return tape.gradient(total, list(variables) + list(watched))

    return run


def _location_inputs(saccader, images, training):
    """The BagNet outputs, G and M of `images` as constants (the inputs of the parts)."""
    rep = saccader.representation(images, training=False)
    where = saccader.attention_network(rep["features"], training=training)
    mixed = saccader.mixer(where, rep["what_features"])
    return rep, where, tf.reshape(mixed, [images.shape[0], saccader.num_cells, -1])


def _stage2_parts(saccader, images, num_targets):
    rep, where, mixed = _location_inputs(saccader, images, training=True)
    net, mixer, names = saccader.attention_network, saccader.mixer, STAGE_PARTS[2]
    predicted = tf.argmax(rep["logits"], axis=-1, output_type=tf.int32)
    targets = top_cells_targets(rep["patch_logits"], predicted, k=num_targets)
    logits = saccader.teacher_forced_location_logits(mixed, targets)
    frozen = tf.function(lambda: saccader.representation(images, training=False)["logits"])
    return {
        (2, names[0]): frozen,
        (2, names[1]): _backward(
            lambda: net(rep["features"], training=True), net.trainable_variables
        ),
        (2, names[2]): _backward(
            lambda: mixer(where, rep["what_features"]), mixer.trainable_variables, [where]
        ),
        (2, names[3]): _backward(
            lambda: saccader.teacher_forced_location_logits(mixed, targets),
            saccader.cell.trainable_variables,
            [mixed],
        ),
        (2, names[4]): _backward(
            lambda: location_pretraining_loss(
                logits,
                top_cells_targets(
                    rep["patch_logits"],
                    tf.argmax(rep["logits"], axis=-1, output_type=tf.int32),
                    k=num_targets,
                ),
            ),
            (),
            [logits],
        ),
    }


def _stage3_parts(saccader, images, labels):
    rep, where, mixed = _location_inputs(saccader, images, training=True)
    net, mixer, names = saccader.attention_network, saccader.mixer, STAGE_PARTS[3]
    context, _ = saccader.context(images, training=False)
    context = dataclasses.replace(context, mixed=mixed)
    out = saccader.unroll(context, training=True)
    logits, glimpse, patch = out["location_logits"], out["glimpse_logits"], rep["patch_logits"]

    def losses():
        rewards = correct_prediction_reward(out["logits"], labels)
        log_probs = policy_log_probs(logits, out["cells"])
        reinforce = reinforce_loss(log_probs, rewards, tf.reduce_mean(rewards))
        supervised = glimpse_cross_entropy(labels, glimpse)
        return reinforce + supervised + per_location_cross_entropy(labels, patch)

    def bagnet():
        outputs = saccader.representation(images, training=True)
        return outputs["features"], outputs["what_features"], outputs["patch_logits"]

    return {
        (3, names[0]): _backward(bagnet, saccader.representation_variables),
        (3, names[1]): _backward(
            lambda: net(rep["features"], training=True), net.trainable_variables, [rep["features"]]
        ),
        (3, names[2]): _backward(
            lambda: mixer(where, rep["what_features"]),
            mixer.trainable_variables,
            [where, rep["what_features"]],
        ),
        (3, names[3]): _backward(
            lambda: saccader.unroll(context, training=True)["location_logits"],
            saccader.cell.trainable_variables,
            [context.mixed],
        ),
        (3, names[4]): _backward(losses, (), [logits, glimpse, patch]),
    }


def _dilated_parts(saccader, batch_size):
    """The attention network's first dilated conv (`conv1`) as the patch matmul and as Conv2D."""
    conv = saccader.attention_network.convs[1]
    grid, channels = saccader.grid, conv.kernel.shape[2]
    x = tf.random.stateless_normal([batch_size, grid, grid, channels], seed=[5, 6])
    rate = conv.dilation_rate[0]
    return {
        ("dilated", DILATED[0]): _backward(
            lambda: same_dilated_conv2d(x, conv.kernel, rate), [conv.kernel], [x]
        ),
        ("dilated", DILATED[1]): _backward(lambda: conv(x), [conv.kernel], [x]),
    }
