"""A stage's training progress on disk, so that a killed run continues where its last save left off.

`StageProgress` keeps a `tf.train.CheckpointManager` under `model_dir/stageN/progress/` holding

* every variable of the Saccader: weights, BatchNorm statistics and the state of every
  `keras.random.SeedGenerator` (the glimpse sampler), so a resumed stage 3 draws the samples an
  uninterrupted one would;
* every variable of the optimizer: its slots and its step counter `iterations`. The step is also the
  position in the data: batch `g` of a stage is `training_batches(source, g, ...)` (see
  `saccader_tf.data.resumable_epochs`), so no iterator state needs saving;

plus `plan.json`, the settings the stage started with (epochs, steps, learning rate, the data
source's settings, the model's config, ...). Resuming under other settings would silently train a
different schedule, so it is refused.

A resume starts from the newest *usable* save found on disk (`saves_on_disk`), not from what the
`checkpoint` state file says: a missing or garbled state file, or a newest save that is truncated,
has flipped bytes, lost its `.index` or holds a non-finite value (`save_problem`), never costs more
than falling back to the next older save, and each save passed over is reported (`notes`).

`ProgressSaver` is the Keras callback that saves every `every_steps` steps and after every epoch.
Under a multi-worker strategy every worker saves (as `tf.train.Checkpoint` requires) but only the
chief's files are kept; the others write to a temporary directory that is deleted at once, and every
worker restores from the chief's directory (`model_dir` must be on a shared filesystem).
"""

import json
import os
import re
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.model_dir import files
from saccader_tf.model_dir.records import read_json_record, write_json_record
from saccader_tf.utils.errors import BadValueError, MissingFileError

PLAN_FILE = "plan.json"
_SAVE_NAME = re.compile(r"^ckpt-(\d+)\.(index|data-\d+-of-\d+)$")


class StageProgress:
    """The resumable state of one training stage.

    Args:
        directory: where the checkpoints go (`model_dir/stageN/progress`).
        model: the model being trained.
        optimizer: the stage's optimizer, already built (its slot variables exist).
        plan: JSON-serialisable dict of the settings that must not change on resume.
        writer: whether this process keeps its files (the chief); other workers save to a
            temporary directory.
        max_to_keep: checkpoints kept (the newest ones).
    """

    def __init__(self, directory, model, optimizer, plan, *, writer=True, max_to_keep=2):
        self.directory = directory
        self.plan = json.loads(json.dumps(plan))  # the form it has after a round trip through JSON
        self.writer = writer
        # Flat variable lists, not the objects: `tf.train.Checkpoint`'s object-graph walk misses
        # Keras 3 sublayers kept in lists (the attention network's BatchNorm statistics), while
        # `variables` lists every weight, statistic and SeedGenerator state in a fixed order.
        self.variables = list(model.variables) + list(optimizer.variables)
        self.checkpoint = tf.train.Checkpoint(
            model=list(model.variables), optimizer=list(optimizer.variables)
        )
        self.optimizer = optimizer
        self.max_to_keep = max_to_keep
        # Only the chief writes (and may set a garbled state file aside); other workers just read.
        self.manager = _manager(self.checkpoint, directory, max_to_keep) if writer else None
        self.restored_from = None
        self._home = None  # model_dir's (device, inode) once the stage started: see `save`
        self._saved_step = None  # the step of this object's last save
        self.notes = []  # one line per save passed over at `start`, for the user

    @property
    def step(self):
        """The optimizer's step count (training batches done in this stage)."""
        return int(self.optimizer.iterations.numpy())

    def start(self, resume=True):
        """Starts the stage: from the newest usable save when `resume` and one exists, else from
        scratch (discarding saved progress). Returns the step it starts at (0 from scratch).

        Saves that cannot be used (see `save_problem`) are passed over, newest first, each with a
        line in `notes`; `restored_from` is the path restored (or `None`).

        Raises:
            ValueError: the saved run had another plan, naming the differences and the fix.
        """
        saves = saves_on_disk(self.directory) if resume else []
        if saves:
            self._check_plan()  # before anything is read: refuse changed settings first
        for path in saves:
            problem = save_problem(path)
            if problem is None:
                self.checkpoint.restore(path).assert_existing_objects_matched()
                self.restored_from = path
                self._home = files.identity(self.model_dir)
                self._saved_step = self.step  # the state of that save
                return self.step
            self.notes.append(f"cannot resume from {path}: {problem}")
        if saves:
            self.notes.append(
                f"no usable save in {self.directory}: the stage starts again from step 0"
            )
        if self.writer:
            files.rmtree(self.directory)
            files.makedirs(self.directory)
            write_json_record(os.path.join(self.directory, PLAN_FILE), self.plan)
            self.manager = _manager(
                self.checkpoint, self.directory, self.max_to_keep
            )  # forget old records
        self._home = files.identity(self.model_dir)
        return 0

    @property
    def model_dir(self):
        """The run's directory (`directory` is `model_dir/stageN/progress`)."""
        return os.path.dirname(os.path.dirname(files.absolute(self.directory)))

    def save(self):
        """Saves the current state (every worker must call it; only the chief's is kept). A
        second call at the same step (a stop right after a periodic save) does nothing: the state
        is the one saved, and some file systems (ram://) would append to the files, not replace.

        Raises:
            MissingFileError: model_dir was deleted (or replaced) since the stage started.
        """
        if self.step == self._saved_step:
            return
        self._save()
        self._saved_step = self.step

    def _save(self):
        if self.writer:
            if self._home is not None and files.identity(self.model_dir) != self._home:
                raise MissingFileError(
                    f"{self.model_dir} was deleted or replaced while this run trained in it "
                    f"(noticed at the save of step {self.step} of stage progress "
                    f"{self.directory}): nothing more is saved. Re-run the command to train "
                    "again (in a new or emptied model_dir it starts from scratch)."
                )
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
            files.rmtree(self.directory)

    def _check_plan(self):
        path = os.path.join(self.directory, PLAN_FILE)
        if not files.exists(path):
            # The saves themselves are intact (each is checked before it is restored, and must
            # match the model's variables): resume them, under these settings, saying so.
            self.notes.append(
                f"{path} is missing, so the settings of the interrupted run cannot be checked: "
                "resuming its saved progress under the current settings (written as the new "
                "plan; --retrain starts the stage again instead)"
            )
            if self.writer:
                write_json_record(path, self.plan)
            return
        saved = read_json_record(
            path,
            f"delete the folder {self.directory} (launcher: --retrain) to start the stage again",
        )
        changed = sorted(k for k in set(saved) | set(self.plan) if saved.get(k) != self.plan.get(k))
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {self.plan.get(k)!r}" for k in changed)
            raise BadValueError(
                f"{self.directory} holds the progress of an interrupted run started with other "
                f"settings ({details}). Resume with the original settings, or delete that folder "
                "(launcher: --retrain) to start the stage again."
            )


class ProgressSaver(keras.callbacks.Callback):
    """Saves a `StageProgress` every `every_steps` training steps and at the end of every epoch.

    Before each save `guard` (a `NonFiniteLossGuard`) checks the model's and the optimizer's
    variables; nothing is saved once it has seen a non-finite loss or weight, so every save holds
    finite values only.

    Args:
        progress: the `StageProgress`.
        every_steps: save interval in steps; `0` = only at the end of each epoch.
        guard: the stage's `NonFiniteLossGuard`, placed before this callback.
    """

    def __init__(self, progress, every_steps, guard):
        super().__init__()
        if every_steps < 0:
            raise BadValueError(f"`every_steps` must be >= 0. Received: every_steps={every_steps}")
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
        if self.guard.check_weights(self.progress.variables):  # never save a non-finite weight
            self.progress.save()
            self.last_saved = self.progress.step


def saves_on_disk(directory):
    """Prefixes `directory/ckpt-N` of the saves present on disk, newest (largest `N`) first.

    Read from the file names, not from the `checkpoint` state file (which may be missing or
    garbled); a save counts as present if its `.index` or one of its `.data` shards exists.
    """
    steps = set()
    if files.isdir(directory):
        for name in files.listdir(directory):
            match = _SAVE_NAME.match(name)
            if match:
                steps.add(int(match.group(1)))
    return [os.path.join(directory, f"ckpt-{step}") for step in sorted(steps, reverse=True)]


def save_problem(path):
    """Why the save with prefix `path` cannot be resumed from, or `None` when it can.

    Every tensor is read back (the checkpoint reader verifies each one's checksum), and every
    floating-point tensor must be finite: a truncated or deleted file, flipped bytes and NaN/Inf
    weights are all found before anything is restored.
    """
    try:
        # The reader of the prefix itself: `tf.train.load_checkpoint` would take a ram:// prefix
        # for a folder (that file system calls every prefix of a name a folder).
        reader = tf.compat.v1.train.NewCheckpointReader(path)
        for name, dtype in sorted(reader.get_variable_to_dtype_map().items()):
            value = reader.get_tensor(name)
            if dtype.is_floating and not np.all(np.isfinite(value)):
                return f"{name} holds non-finite values"
    except (tf.errors.OpError, ValueError, IndexError, OSError) as error:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        return message.strip().splitlines()[0]
    return None


def _manager(checkpoint, directory, max_to_keep):
    """A `CheckpointManager` on `directory`; a garbled `checkpoint` state file is set aside (the
    saves themselves are found by `saves_on_disk`)."""
    try:
        return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)
    except (tf.errors.OpError, ValueError, UnicodeDecodeError):
        files.replace(
            os.path.join(directory, "checkpoint"), os.path.join(directory, "checkpoint.garbled")
        )
        return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)
