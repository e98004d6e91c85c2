"""A stage's training progress on disk, so that a killed run continues where its last save left off.

`StageProgress` keeps a `tf.train.CheckpointManager` under `model_dir/stageN/progress/` holding

* every variable of the Saccader: weights, BatchNorm statistics and the state of every
  `keras.random.SeedGenerator` (the glimpse sampler), so a resumed stage 3 draws the samples an
  uninterrupted one would;
* every variable of the optimizer: its slots and its step counter `iterations`. The step is also the
  position in the data: batch `g` of a stage is `training_batches(source, g, ...)` (see
  `saccader_tf.data.resumable_epochs`), so no iterator state needs saving;

plus `plan.json`, the settings the stage started with (epochs, steps, learning rate, ...). Resuming
under other settings would silently train a different schedule, so it is refused.

`ProgressSaver` is the Keras callback that saves every `every_steps` steps and after every epoch.
Under a multi-worker strategy every worker saves (as `tf.train.Checkpoint` requires) but only the
chief's files are kept; the others write to a temporary directory that is deleted at once, and every
worker restores from the chief's directory (`model_dir` must be on a shared filesystem).
"""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

PLAN_FILE = "plan.json"


class StageProgress:
    """The resumable state of one training stage.

    Args:
        directory: where the checkpoints go (`model_dir/stageN/progress`).
        saccader: the `Saccader` being trained.
        optimizer: the stage's optimizer, already built (its slot variables exist).
        plan: JSON-serialisable dict of the settings that must not change on resume.
        writer: whether this process keeps its files (the chief); other workers save to a
            temporary directory.
        max_to_keep: checkpoints kept (the newest ones).
    """

    def __init__(self, directory, saccader, optimizer, plan, *, writer=True, max_to_keep=2):
        self.directory = directory
        self.plan = json.loads(json.dumps(plan))  # the form it has after a round trip through JSON
        self.writer = writer
        # Flat variable lists, not the objects: `tf.train.Checkpoint`'s object-graph walk misses
        # Keras 3 sublayers kept in lists (the attention network's BatchNorm statistics), while
        # `variables` lists every weight, statistic and SeedGenerator state in a fixed order.
        self.checkpoint = tf.train.Checkpoint(model=list(saccader.variables),
                                              optimizer=list(optimizer.variables))
        self.optimizer = optimizer
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)

    @property
    def step(self):
        """The optimizer's step count (training batches done in this stage)."""
        return int(self.optimizer.iterations.numpy())

    def start(self, resume=True):
        """Starts the stage: from the newest save when `resume` and one exists, else from scratch
        (discarding saved progress). Returns the step it starts at (0 from scratch).

        Raises:
            ValueError: the saved run had another plan, naming the differences and the fix.
        """
        latest = self.manager.latest_checkpoint if resume else None
        if latest is None:
            if self.writer:
                shutil.rmtree(self.directory, ignore_errors=True)
                os.makedirs(self.directory)
                with open(os.path.join(self.directory, PLAN_FILE), "w") as f:
                    json.dump(self.plan, f, indent=2, sort_keys=True)
            return 0
        self._check_plan()
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return self.step

    def save(self):
        """Saves the current state (every worker must call it; only the chief's is kept)."""
        if self.writer:
            self.manager.save(checkpoint_number=self.step)
            return
        scratch = tempfile.mkdtemp(prefix="saccader_progress_")
        try:
            self.checkpoint.write(os.path.join(scratch, "ckpt"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def clear(self):
        """Deletes the saved progress (once the stage's final checkpoint is written)."""
        if self.writer:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _check_plan(self):
        path = os.path.join(self.directory, PLAN_FILE)
        saved = {}
        if os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
        changed = sorted(k for k in set(saved) | set(self.plan) if saved.get(k) != self.plan.get(k))
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {self.plan.get(k)!r}" for k in changed)
            raise ValueError(
                f"{self.directory} holds the progress of an interrupted run started with other "
                f"settings ({details}). Resume with the original settings, or delete that folder "
                "(launcher: --retrain) to start the stage again."
            )


class ProgressSaver(keras.callbacks.Callback):
    """Saves a `StageProgress` every `every_steps` training steps and at the end of every epoch.

    Nothing is saved once `guard` (a `NonFiniteLossGuard`) has seen a non-finite loss, so the newest
    save always holds finite weights.

    Args:
        progress: the `StageProgress`.
        every_steps: save interval in steps; `0` = only at the end of each epoch.
        guard: the stage's `NonFiniteLossGuard`, placed before this callback.
    """

    def __init__(self, progress, every_steps, guard):
        super().__init__()
        if every_steps < 0:
            raise ValueError(f"`every_steps` must be >= 0. Received: every_steps={every_steps}")
        self.progress = progress
        self.every_steps = every_steps
        self.guard = guard
        self.last_saved = None

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and self.progress.step % self.every_steps == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.last_saved != self.progress.step:
            self._save()

    def _save(self):
        if self.guard.failure is None:
            self.progress.save()
            self.last_saved = self.progress.step
