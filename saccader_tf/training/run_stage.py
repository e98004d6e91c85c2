"""Runs one training stage end to end: trainer, optimizer, fit, checkpoint, one-line summary."""

import os
import time

import keras
import tensorflow as tf

from saccader_tf import checkpoints, multi_worker
from saccader_tf.training.stage1 import RepresentationTrainer
from saccader_tf.training.stage2 import LocationPretrainer
from saccader_tf.training.nan_guard import NonFiniteLossGuard
from saccader_tf.training.stage3 import PolicyGradientTrainer
from saccader_tf.viz import GlimpseImagesCallback

STAGE_NAMES = {1: "representation", 2: "location pretraining", 3: "policy gradient"}
# The metric that says how a stage is doing, reported in its summary line.
HEADLINE_METRIC = {1: "accuracy", 2: "target_accuracy", 3: "accuracy"}


def make_trainer(stage, saccader, *, weight_decay=0.0, num_targets=12):
    """The `StageTrainer` of `stage` (1, 2 or 3) around `saccader`."""
    if stage == 1:
        return RepresentationTrainer(saccader, weight_decay=weight_decay, name="stage1")
    if stage == 2:
        return LocationPretrainer(saccader, num_targets=num_targets, weight_decay=weight_decay, name="stage2")
    if stage == 3:
        return PolicyGradientTrainer(saccader, weight_decay=weight_decay, name="stage3")
    raise ValueError(f"`stage` must be 1, 2 or 3. Received: stage={stage!r}")


def make_optimizer(name, learning_rate, total_steps=None):
    """Adam or SGD with Nesterov momentum 0.9; cosine decay to 0 over `total_steps` when known."""
    schedule = learning_rate
    if total_steps:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    if name == "adam":
        return keras.optimizers.Adam(schedule)
    if name == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    raise ValueError(f"`optimizer` must be 'adam' or 'sgd'. Received: optimizer={name!r}")


def train_stage(
    stage, saccader, source, *, epochs, learning_rate, model_dir, weight_decay=0.0, num_targets=12,
    steps_per_epoch=None, eval_steps=None, optimizer="adam", jit_compile=False, verbose=1,
    strategy=None, write_checkpoint=True,
):
    """Trains `saccader` for one stage and writes the stage checkpoint.

    Args:
        stage: 1, 2 or 3.
        saccader: a built `Saccader` (created in `strategy.scope()` when a strategy is used).
        source: a `saccader_tf.data.DataSource`.
        epochs: passes over the training data (or of `steps_per_epoch` steps).
        learning_rate: peak learning rate (cosine-decayed over the stage).
        model_dir: where checkpoints and TensorBoard logs go.
        weight_decay, num_targets: see the stage trainers.
        steps_per_epoch: steps per epoch; `None` = one pass over `source.train`.
        eval_steps: evaluation batches per epoch; `None` = all of `source.eval`.
        optimizer: `"adam"` or `"sgd"`.
        jit_compile: XLA for the train step (slower on CPUs; for GPUs).
        verbose: Keras `fit` verbosity (1 = progress bar).
        strategy: a `tf.distribute.Strategy` (default: the current one).
        write_checkpoint: only the chief writes checkpoints and logs (under a multi-worker strategy
            the other workers never write, whatever this says).

    Returns:
        A dict summary: `stage`, `seconds`, `steps`, `train` and `eval` logs of the last epoch,
        `checkpoint` path (or `None`) and a one-line `summary`.

    Raises:
        NonFiniteLossError: a loss term became NaN/Inf; the stage stops there, without a checkpoint.
    """
    strategy = strategy or tf.distribute.get_strategy()
    write_checkpoint = write_checkpoint and multi_worker.is_chief(strategy)
    train = source.train
    if steps_per_epoch:
        train = train.repeat()
        total_steps = steps_per_epoch * epochs
    else:
        total_steps = _steps_in(source) * epochs if _steps_in(source) else None
    with strategy.scope():
        trainer = make_trainer(stage, saccader, weight_decay=weight_decay, num_targets=num_targets)
        trainer.compile(optimizer=make_optimizer(optimizer, learning_rate, total_steps), jit_compile=jit_compile)
    guard = NonFiniteLossGuard(stage)
    callbacks = [guard]
    if write_checkpoint:
        log_dir = os.path.join(model_dir, "logs", f"stage{stage}")
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
        if stage == 3:  # where the model looks, on 8 fixed validation images, after every epoch
            images = next(iter(source.eval))[0][:8]
            callbacks.append(GlimpseImagesCallback(images, os.path.join(log_dir, "glimpses"), saccader=saccader))
    start = time.time()
    with multi_worker.fit_compat(strategy):  # a no-op unless multi-worker on an affected Keras
        history = trainer.fit(
            train, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=source.eval,
            validation_steps=eval_steps, callbacks=callbacks, verbose=verbose, shuffle=False,
        )
    seconds = time.time() - start
    guard.raise_if_failed()  # before any checkpoint: NaN weights never overwrite a good one
    path = checkpoints.save_stage(saccader, model_dir, stage) if write_checkpoint else None
    train_logs = {k: v[-1] for k, v in history.history.items() if not k.startswith("val_")}
    eval_logs = {k[4:]: v[-1] for k, v in history.history.items() if k.startswith("val_")}
    metric = HEADLINE_METRIC[stage]
    summary = (
        f"stage {stage} ({STAGE_NAMES[stage]}): {epochs} epoch(s) in {seconds:.0f} s; "
        f"train {metric} {train_logs.get(metric, float('nan')):.4f}, "
        f"eval {metric} {eval_logs.get(metric, float('nan')):.4f}"
        + (f"; checkpoint {path}" if path else "")
    )
    return {"stage": stage, "seconds": seconds, "steps": trainer.optimizer.iterations.numpy().item(),
            "train": train_logs, "eval": eval_logs, "checkpoint": path, "summary": summary}


def _steps_in(source):
    cardinality = int(source.train.cardinality())
    return cardinality if cardinality > 0 else None
