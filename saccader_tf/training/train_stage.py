"""Runs one training stage end to end: trainer, optimizer, fit, checkpoint, one-line summary.

`train_stage` trains one stage of any model: the trainer comes from a `TrainerSpec`
(`saccader_tf.training.stage_trainers`; by default the Saccader's stage of that number, or a
Saccader-ClassNet's stage 4), the weights go to `model_dir/stageN/saccader.weights.h5`
(`saccader_tf.model_dir.stage_files`), and with `save_every_steps` the stage can be resumed from
its saved progress (`saccader_tf.model_dir.progress`) with the same batches as an uninterrupted run.
`stage_plan` is what such a resume must agree on.
"""

import os
import sys
import time

import keras
import tensorflow as tf

from saccader_tf.data.eval_subsets import capped_batches, spread_eval
from saccader_tf.data.resumable_epochs import batches_per_epoch
from saccader_tf.model_dir import stage_files
from saccader_tf.model_dir.progress import ProgressSaver, StageProgress
from saccader_tf.model_dir.records import config_record
from saccader_tf.training import multi_worker
from saccader_tf.training.callbacks import GlimpseImagesCallback
from saccader_tf.training.nan_guard import NonFiniteLossGuard
from saccader_tf.training.preemption import StopAtStepBoundary, StopSignals
from saccader_tf.training.schedules import learning_rate_schedule
from saccader_tf.training.stage_trainers import STAGE_TRAINERS, make_trainer
from saccader_tf.training.step_log import StepLogger
from saccader_tf.training.worker_inputs import stage_batches
from saccader_tf.utils.validation import check_int

__all__ = ["make_optimizer", "make_trainer", "stage_plan", "train_stage"]


def make_optimizer(name, learning_rate, total_steps=None, *, schedule="cosine", warmup_steps=0):
    """Adam or SGD with Nesterov momentum 0.9; by default cosine decay to 0 over `total_steps`
    when known (`schedule="constant"`: no decay; `warmup_steps`: a linear warm-up first; see
    `saccader_tf.training.schedules.learning_rate_schedule`)."""
    schedule = learning_rate_schedule(
        learning_rate, total_steps, schedule=schedule, warmup_steps=warmup_steps
    )
    if name == "adam":
        return keras.optimizers.Adam(schedule)
    if name == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    raise ValueError(f"`optimizer` must be 'adam' or 'sgd'. Received: optimizer={name!r}")


def train_stage(
    stage,
    model,
    source,
    settings,
    *,
    model_dir,
    strategy=None,
    write_checkpoint=True,
    callbacks=(),
    trainer_spec=None,
):
    """Trains `model` for one stage and writes the stage checkpoint.

    The stage runs one `fit` call per epoch, each on its own slice of the training stream
    (`training_batches`; under several workers each prepares only its share when the source can,
    `worker_inputs.stage_batches`), so that it can start in the middle of an epoch: with
    `settings.save_every_steps` set, the progress is saved (`StageProgress`) every that many steps
    and after each epoch, and a later call with the same settings and `model_dir` continues from the
    newest save, with the same batches, samples and learning rates as an uninterrupted run.

    Args:
        stage: the stage number, 1-4: it names the checkpoint (`model_dir/stageN/...`), the logs
            and, without `trainer_spec`, the trainer (`STAGE_TRAINERS[stage]`).
        model: a built model (created in `strategy.scope()` when a strategy is used): a `Saccader`
            for stages 1-3, a `SaccaderClassNet` for stage 4, or the model `trainer_spec` trains.
        source: a `saccader_tf.data.DataSource`.
        settings: a `saccader_tf.run.settings.StageSettings` (epochs, learning rate, weight
            decay, ...; its `steps_per_epoch=None` = one training epoch of `source`, whose length
            must then be known). Progress saved with `save_every_steps` is kept under
            `model_dir/stageN/progress` until the stage ends.
        model_dir: where checkpoints and TensorBoard logs go.
        strategy: a `tf.distribute.Strategy` (default: the current one).
        write_checkpoint: only the chief writes checkpoints and logs (under a multi-worker strategy
            the other workers never write, whatever this says).
        callbacks: extra Keras callbacks, run after the stage's own (progress saving among them).
        trainer_spec: a `saccader_tf.training.stage_trainers.TrainerSpec` to train with instead
            of the stage's own (e.g. `DRAM_TRAINER`, kept as stage 3).

    Returns:
        A dict summary: `stage`, `seconds`, `steps`, `resumed_from` (step), `epochs_run` (indices of
        the epochs this call trained), `train` and `eval` logs of the last epoch, `checkpoint` path
        (or `None`) and a one-line `summary` (starting with the spec's title).

    Raises:
        NonFiniteLossError: a loss term became NaN/Inf; the stage stops there, without a checkpoint.
        StageInterrupted: SIGTERM or SIGINT arrived; the stage saved its progress after the step
            in flight and stopped (`saccader_tf.training.preemption`).
        ValueError: `epochs < 1` or `learning_rate <= 0` (nothing would be trained, or it would
            climb the loss), the epoch length is unknown, or saved progress has other settings.
    """
    spec = trainer_spec or STAGE_TRAINERS.get(stage)
    steps_per_epoch = _steps_per_epoch(settings, source)
    strategy = strategy or tf.distribute.get_strategy()
    chief = multi_worker.is_chief(strategy)
    trainer = _compiled_trainer(stage, model, settings, steps_per_epoch, strategy, spec)
    progress = None
    if settings.save_every_steps is not None and write_checkpoint:
        plan = settings_plan(stage, model, source, settings, steps_per_epoch)
        directory = stage_files.progress_dir(model_dir, stage)
        progress = StageProgress(directory, model, trainer.optimizer, plan, writer=chief)
    resumed_from = _start(stage, progress, settings, steps_per_epoch)
    guard = NonFiniteLossGuard(stage, steps_per_epoch)
    write = write_checkpoint and chief
    stage_callbacks = [guard, StageProgbar(settings.epochs)]
    if progress:
        stage_callbacks.append(ProgressSaver(progress, settings.save_every_steps, guard))
    signals = StopSignals()  # SIGTERM/SIGINT: save at the next step boundary, then stop
    stage_callbacks.append(StopAtStepBoundary(signals, stage, progress, guard, strategy))
    if settings.log_every_steps:
        log_dir = os.path.join(model_dir, "logs", f"stage{stage}") if write else None
        stage_callbacks.append(_step_logger(stage, settings, steps_per_epoch, source, log_dir))
    if write:
        stage_callbacks.extend(_logging_callbacks(stage, model, source, model_dir))
    start = time.time()
    with signals:
        history = _fit_epochs(
            trainer,
            source,
            stage_callbacks + list(callbacks),
            guard,
            strategy,
            epochs=settings.epochs,
            steps_per_epoch=steps_per_epoch,
            first_step=resumed_from,
            validation=validation_batches(source, settings),
            verbose=settings.verbose,
        )
    seconds = time.time() - start
    guard.check_weights(model.variables)  # the stage file never holds a non-finite weight
    guard.raise_if_failed()
    path = stage_files.save_stage(model, model_dir, stage) if write else None
    if progress:
        progress.clear()
    timing = dict(seconds=seconds, epochs=settings.epochs, resumed_from=resumed_from)
    subset = _validation_subset(source, settings)  # named in the summary
    return _result(stage, spec, trainer, history, path, validated_on=subset, **timing)


def validation_batches(source, settings):
    """`(dataset, steps)` of the validation after each epoch: `validation_steps` (else
    `eval_steps`) batches spread over the evaluation split (`spread_eval`), at most the
    split's (Keras would warn that the input ran out); neither set: all."""
    steps, _ = capped_batches(source, settings.validation_steps or settings.eval_steps)
    return spread_eval(source, steps), steps


def _validation_subset(source, settings):
    """The validation batches' count if fewer than the split's (length unknown too), else None."""
    steps, total = capped_batches(source, settings.validation_steps or settings.eval_steps)
    return steps if steps is not None and (total < 0 or steps < total) else None


def _steps_per_epoch(settings, source):
    """The stage's steps per epoch, once its schedule and data are known to train something."""
    _check_schedule(settings.epochs, settings.learning_rate)
    if getattr(source, "eval_size", None) == 0:
        raise ValueError(
            f"The evaluation split of dataset {source.name!r} holds no examples, so every "
            "evaluation would report NaN: give it images (an image folder: val/<class>/...). "
            f"Received: eval_size=0"
        )
    steps_per_epoch = settings.steps_per_epoch or batches_per_epoch(source)
    if not steps_per_epoch:
        raise ValueError(
            "The training dataset's length is unknown: pass steps_per_epoch (--steps)."
        )
    return steps_per_epoch


def _compiled_trainer(stage, model, settings, steps_per_epoch, strategy, spec):
    """The stage's trainer, compiled with its optimizer (built, so a restore finds its slots)."""
    with strategy.scope():
        trainer = make_trainer(
            stage,
            model,
            spec=spec,
            weight_decay=settings.weight_decay,
            num_targets=settings.num_targets,
            full_image_loss_weight=settings.full_image_loss_weight,
            l2=settings.l2,
            location_weight_decay=settings.location_weight_decay,
            reward=settings.reward,
        )
        optimizer = make_optimizer(
            settings.optimizer,
            settings.learning_rate,
            steps_per_epoch * settings.epochs,
            schedule=settings.schedule,
            warmup_steps=warmup_steps(settings, steps_per_epoch),
        )
        trainer.compile(optimizer=optimizer, jit_compile=settings.jit_compile)  # builds the slots
    return trainer


def _start(stage, progress, settings, steps_per_epoch):
    """The step the stage starts at: 0, or that of the newest progress save (said on stdout)."""
    if progress is None:
        return 0
    resumed_from = progress.start(resume=not settings.restart)
    for note in progress.notes:
        print(f"stage {stage}: {note}", file=sys.stderr, flush=True)
    if resumed_from and settings.verbose:
        print(
            f"stage {stage}: resuming at step {resumed_from} of "
            f"{steps_per_epoch * settings.epochs} from {progress.restored_from}",
            flush=True,
        )
    return resumed_from


def settings_plan(stage, model, source, settings, steps_per_epoch):
    """The `stage_plan` of a stage trained with `StageSettings` `settings`: its schedule, optimizer,
    decay and targets (stage 3: the full-image weight), plus the reproduction switches that are on
    (`StageSettings.switches()`; none by default, so older plans still match)."""
    return stage_plan(
        stage,
        model,
        source,
        epochs=settings.epochs,
        steps_per_epoch=steps_per_epoch,
        learning_rate=settings.learning_rate,
        optimizer=settings.optimizer,
        weight_decay=settings.weight_decay,
        num_targets=settings.num_targets,
        **({"full_image_loss_weight": settings.full_image_loss_weight} if stage == 3 else {}),
        **settings.switches(),
    )


def warmup_steps(settings, steps_per_epoch):
    """`settings.warmup_epochs` in steps: `round(warmup_epochs · steps_per_epoch)`."""
    warmup = settings.warmup_epochs
    if not 0 <= warmup < float("inf"):
        raise ValueError(f"`warmup_epochs` must be >= 0. Received: warmup_epochs={warmup!r}")
    return int(round(warmup * steps_per_epoch))


def _check_schedule(epochs, learning_rate):
    """A stage trains at least one epoch, downhill: no untrained stage file, no gradient ascent."""
    check_int("epochs", epochs)
    if not 0 < learning_rate < float("inf"):
        raise ValueError(
            "`learning_rate` must be positive and finite. "
            f"Received: learning_rate={learning_rate!r}"
        )


def stage_plan(stage, model, source, **settings):
    """The settings a resumed stage must share with the run that saved its progress.

    `settings` (epochs, learning rate, optimizer, ...) plus everything that decides which batches
    the stage sees and what it trains: the data source's `settings` (dataset, image size, batch
    size, seed, recipe, ...; `{}` for a hand-made source), the global batch size of its training
    stream, and the model's whole config but its name (nor, for a ClassNet, its Saccader's name;
    architecture, glimpses, seed).
    """
    config = config_record(model.get_config())
    config.pop("name", None)
    if isinstance(config.get("saccader"), dict):  # a ClassNet: its Saccader's layer name too
        config["saccader"].get("config", {}).pop("name", None)
    batch = source.train_epoch(0).element_spec
    batch_size = tf.nest.flatten(batch)[0].shape[0]
    return dict(
        stage=stage,
        data=getattr(source, "name", None),
        data_settings=dict(getattr(source, "settings", None) or {}),
        batch_size=batch_size,
        model=config,
        **settings,
    )


def _fit_epochs(
    trainer,
    source,
    callbacks,
    guard,
    strategy,
    *,
    epochs,
    steps_per_epoch,
    first_step,
    validation,
    verbose,
):
    """One `fit` per remaining epoch, starting at stage step `first_step`, each validated on
    `validation` (`(dataset, steps)`); returns the merged history (with `"epoch"`: the indices
    of the epochs run)."""
    history = {"epoch": []}
    for epoch in range(first_step // steps_per_epoch, epochs):
        first = max(first_step, epoch * steps_per_epoch)
        steps = (epoch + 1) * steps_per_epoch - first
        with multi_worker.fit_compat(strategy):  # a no-op unless multi-worker on an affected Keras
            result = trainer.fit(
                stage_batches(strategy, source, first, steps),
                initial_epoch=epoch,
                epochs=epoch + 1,
                steps_per_epoch=steps,
                validation_data=validation[0],
                validation_steps=validation[1],
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,
            )
        guard.raise_if_failed()  # before any checkpoint: NaN weights never overwrite a good one
        history["epoch"].append(epoch)
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)
    return history


def _step_logger(stage, settings, steps_per_epoch, source, log_dir):
    """A line (on every worker) and TensorBoard scalars (in `log_dir`, the chief's) every N
    steps."""
    return StepLogger(
        stage,
        settings.log_every_steps,
        total_steps=settings.epochs * steps_per_epoch,
        batch_size=getattr(source, "batch_size", None),
        log_dir=log_dir,
    )


def _logging_callbacks(stage, model, source, model_dir):
    """TensorBoard logs, and in stage 3 (the final stage of the Saccader and of DRAM) the glimpses
    on 8 fixed validation images after every epoch."""
    log_dir = os.path.join(model_dir, "logs", f"stage{stage}")
    callbacks = [keras.callbacks.TensorBoard(log_dir)]
    if stage == 3:
        images = next(iter(source.eval))[0][:8]
        callbacks.append(
            GlimpseImagesCallback(images, os.path.join(log_dir, "glimpses"), model=model)
        )
    return callbacks


def _result(stage, spec, trainer, history, path, *, seconds, epochs, resumed_from, validated_on):
    """The dict `train_stage` returns (see there), its `summary` line starting with `spec.title`
    (`validated_on`: the validation batches when not the whole split, named there)."""
    epochs_run = history.pop("epoch")
    train_logs = {k: v[-1] for k, v in history.items() if not k.startswith("val_")}
    eval_logs = {k[4:]: v[-1] for k, v in history.items() if k.startswith("val_")}
    metric = spec.metric
    steps = int(trainer.optimizer.iterations.numpy())
    summary = (
        f"{spec.title}: {epochs} epoch(s), {steps} steps"
        + (f" (resumed at step {resumed_from})" if resumed_from else "")
        + f" in {seconds:.0f} s; train {metric} {train_logs.get(metric, float('nan')):.4f}, "
        + _eval_label(validated_on)
        + f" {metric} {eval_logs.get(metric, float('nan')):.4f}"
        + (f"; checkpoint {path}" if path else "")
    )
    return {
        "stage": stage,
        "seconds": seconds,
        "steps": steps,
        "resumed_from": resumed_from,
        "epochs_run": epochs_run,
        "train": train_logs,
        "eval": eval_logs,
        "checkpoint": path,
        "summary": summary,
    }


class StageProgbar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, numbering epochs out of the whole stage (`fit` runs one epoch at a
    time).

    Args:
        epochs: the stage's number of epochs.
    """

    def __init__(self, epochs):
        super().__init__()
        self.stage_epochs = epochs

    def set_params(self, params):
        super().set_params(dict(params, epochs=self.stage_epochs))


def _eval_label(validated_on):
    """`eval`, or `eval (N batches)` when the validation was on the first N batches only."""
    if validated_on is None:
        return "eval"
    return f"eval ({validated_on} batch{'es' if validated_on != 1 else ''})"
