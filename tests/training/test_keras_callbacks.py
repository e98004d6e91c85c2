"""Every stage trainer works with the standard Keras callbacks, straight after `compile`.

For each trainer (stages 1, 2, 3, ClassNet's stage 4, DRAM): `ModelCheckpoint(save_weights_only=
True)` and `BackupAndRestore` work without calling the trainer on data first; a run interrupted
after epoch 1 and resumed in a fresh trainer (a restarted process) ends with the weights of an
uninterrupted run; the checkpoint loads into a fresh trainer with equal outputs; every stage logs
`val_loss`, which `EarlyStopping` and `ReduceLROnPlateau` act on.

The runs are eager (`run_eagerly=True`: tiny models, a few steps, no tracing) and use Adam, so the
resume also needs the optimizer's slots and step counter restored. Sampled glimpses (stage 3, DRAM)
come from the models' seed generators, whose state the trainer's weights files carry, so the
resumed epoch draws the same samples; the same ops from the same state (oneDNN off,
tests/conftest.py) give bit-identical weights, which is what is asserted.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.models import Saccader, SaccaderClassNet
from saccader_tf.training import (
    ClassNetTrainer,
    DRAMTrainer,
    LocationPretrainer,
    PolicyGradientTrainer,
    RepresentationTrainer,
)
from saccader_tf.training.losses import glimpse_cross_entropy, per_location_cross_entropy
from saccader_tf.utils.errors import UserError
from tests.support.comparable_models import tiny_dram, tiny_saccader

KINDS = ("stage1", "stage2", "stage3", "stage4", "dram")
LR = 0.01


def _model(kind):
    keras.utils.set_random_seed(0)  # the weight initialisers are unseeded
    if kind == "dram":
        return tiny_dram(num_glimpses=2, name="dram")
    if kind == "stage4":
        saccader = Saccader(
            num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, num_glimpses=2
        )
        net = SaccaderClassNet(
            saccader, "small_cnn", classifier_image_size=24, small_cnn_widths=(4,)
        )
        net.build()
        return net
    return tiny_saccader(num_glimpses=2, name="saccader")


def _trainer(kind, optimizer=None):
    """A fresh, compiled trainer of `kind` (identical weights for the same `kind`)."""
    model = _model(kind)
    trainer = {
        "stage1": lambda: RepresentationTrainer(model, weight_decay=1e-3),
        "stage2": lambda: LocationPretrainer(model, num_targets=2),
        "stage3": lambda: PolicyGradientTrainer(model, full_image_loss_weight=0.5),
        "stage4": lambda: ClassNetTrainer(model),
        "dram": lambda: DRAMTrainer(model),
    }[kind]()
    trainer.compile(optimizer=optimizer or keras.optimizers.Adam(LR), run_eagerly=True)
    return trainer


def _datasets(batches=2):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8 * batches, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, 5, size=8 * batches).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    return train, train.take(1)


def _weights(trainer):
    return [w.numpy().copy() for w in trainer.trained_model.weights]


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    """Raises at the end of epoch 1, after `BackupAndRestore` (listed before it) saved."""

    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("interrupted")


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_and_backup_work_without_calling_the_trainer_first(kind, tmp_path):
    train, val = _datasets()
    checkpoint = str(tmp_path / "trainer.weights.h5")
    whole = _trainer(kind)
    assert whole.built and whole.optimizer.built
    history = whole.fit(
        train,
        validation_data=val,
        epochs=2,
        verbose=0,
        callbacks=[
            keras.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True),
            keras.callbacks.BackupAndRestore(str(tmp_path / "backup_whole")),
        ],
    )
    assert {"loss", "val_loss"} <= set(history.history)
    expected = _weights(whole)

    backup = str(tmp_path / "backup")
    interrupted = _trainer(kind)
    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted.fit(
            train,
            validation_data=val,
            epochs=2,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), _StopAfterFirstEpoch()],
        )
    resumed = _trainer(kind)  # a restarted process: fresh weights, then the backup
    history = resumed.fit(
        train,
        validation_data=val,
        epochs=2,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup)],
    )
    assert history.epoch == [1]  # resumed at the second epoch
    assert int(resumed.optimizer.iterations.numpy()) == 4  # 2 steps before, 2 after the restore
    for got, want in zip(_weights(resumed), expected):
        np.testing.assert_array_equal(got, want)

    loaded = _trainer(kind)
    loaded.load_weights(checkpoint)
    images = next(iter(val))[0]
    for name, want in whole(images).items():
        np.testing.assert_allclose(loaded(images)[name], want, rtol=1e-6, atol=1e-6, err_msg=name)
    assert int(loaded.optimizer.iterations.numpy()) == 4  # the optimizer's state came along


def test_val_loss_drives_early_stopping_and_lr_reduction():
    """Stage 3 (whose `val_loss` is the newest definition) with a `min_delta` no epoch can beat:
    the LR halves after epochs 2 and 3 (patience 1), training stops after epoch 3 (patience 2)."""
    train, val = _datasets(batches=1)
    trainer = _trainer("stage3")
    history = trainer.fit(
        train,
        validation_data=val,
        epochs=5,
        verbose=0,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=1, min_delta=1e9
            ),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e9),
        ],
    )
    assert history.epoch == [0, 1, 2]
    assert np.all(np.isfinite(history.history["val_loss"]))
    # logged at each epoch's end, before that epoch's reduction
    assert history.history["learning_rate"] == pytest.approx([LR, LR, LR / 2])
    np.testing.assert_allclose(float(trainer.optimizer.learning_rate.numpy()), LR / 4, rtol=1e-6)


def _cross_entropy(labels, logits):
    """Mean sparse cross-entropy by hand (NumPy log-softmax)."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_softmax, labels[..., None], -1).mean()


def test_stage3_val_loss_is_the_supervised_loss_of_the_greedy_glimpses():
    """`glimpse_ce + μ · full_image_ce` in inference mode (μ = 0.5), by hand."""
    _, val = _datasets()
    images, labels = next(iter(val))
    trainer = _trainer("stage3")
    out = trainer.trained_model(images, training=False)
    labels_np = labels.numpy()
    glimpse_ce = _cross_entropy(np.repeat(labels_np[:, None], 2, 1), out["glimpse_logits"])
    patch = out["patch_logits"].numpy()
    cells = patch.shape[1] * patch.shape[2]
    full_image_ce = _cross_entropy(
        np.repeat(labels_np, cells), patch.reshape(len(labels_np) * cells, -1)
    )
    logs = trainer.evaluate(val, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], glimpse_ce + 0.5 * full_image_ce, rtol=1e-5)
    # the library's own loss functions agree (the per-term definitions of docs/design.md)
    np.testing.assert_allclose(
        np.mean(glimpse_cross_entropy(labels, out["glimpse_logits"])), glimpse_ce, rtol=1e-5
    )
    np.testing.assert_allclose(
        np.mean(per_location_cross_entropy(labels, out["patch_logits"])), full_image_ce, rtol=1e-5
    )


def test_dram_val_loss_is_the_cross_entropy_of_the_mean_locations():
    _, val = _datasets()
    images, labels = next(iter(val))
    trainer = _trainer("dram")
    by_hand = _cross_entropy(
        labels.numpy(), trainer.trained_model(images, training=False)["logits"]
    )
    logs = trainer.evaluate(val, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], by_hand, rtol=1e-5)


def test_lr_reduction_on_a_scheduled_learning_rate_stops_before_the_first_step():
    train, val = _datasets(batches=1)
    schedule = keras.optimizers.schedules.CosineDecay(LR, decay_steps=10)
    trainer = _trainer("stage1", optimizer=keras.optimizers.Adam(schedule))
    with pytest.raises(UserError, match=r"schedule \(CosineDecay\).*float learning rate"):
        trainer.fit(
            train,
            validation_data=val,
            epochs=1,
            verbose=0,
            callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="val_loss")],
        )
    assert int(trainer.optimizer.iterations.numpy()) == 0


def test_schedule_detection_looks_through_loss_scaling():
    """The launcher's optimizers: a float rate, cosine decay, a warm-up under loss scaling."""
    from saccader_tf.training.fit_checks import learning_rate_schedule_name
    from saccader_tf.training.schedules import WarmupSchedule

    assert learning_rate_schedule_name(keras.optimizers.Adam(LR)) is None
    cosine = keras.optimizers.schedules.CosineDecay(LR, decay_steps=10)
    assert learning_rate_schedule_name(keras.optimizers.SGD(cosine)) == "CosineDecay"
    scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(WarmupSchedule(LR, 2, 8)))
    assert learning_rate_schedule_name(scaled) == "WarmupSchedule"
