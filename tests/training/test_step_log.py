"""`--log_every_steps`: one plain line and TensorBoard scalars every N stage steps."""

import glob
import io
import os
import signal
import types
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models import Saccader
from saccader_tf.run.settings import StageSettings
from saccader_tf.training import step_log
from saccader_tf.training.preemption import StageInterrupted
from saccader_tf.training.train_stage import train_stage
from tests.support.sources import dataset_source


def _logger_on(iterations, **kwargs):
    logger = step_log.StepLogger(**kwargs)
    counter = types.SimpleNamespace(numpy=lambda: iterations[0])
    logger.set_model(types.SimpleNamespace(optimizer=types.SimpleNamespace(iterations=counter)))
    return logger


class StepLineTest(tf.test.TestCase):
    def test_lines_every_n_steps_with_the_rate_since_the_last_line(self):
        stream, iterations = io.StringIO(), [0]
        logger = _logger_on(
            iterations, stage=2, every=2, total_steps=6, batch_size=16, stream=stream
        )
        clock = iter([100.0, 101.0, 102.0, 104.0, 105.0, 108.0])  # begin, then after each step
        with mock.patch.object(step_log.time, "perf_counter", lambda: next(clock)):
            logger.on_train_begin()
            for step, loss in zip(range(1, 6), (2.0, 1.5, 1.25, 1.0, 0.5)):
                iterations[0] = step
                logger.on_train_batch_end(step - 1, {"loss": loss, "accuracy": 0.25 * step})
        lines = stream.getvalue().splitlines()
        # Step 2 at t=102: 2 steps x 16 images in 2 s; step 4 at t=105: 2 x 16 in 3 s.
        self.assertEqual(
            lines,
            [
                "stage 2 step 2/6: accuracy 0.5, loss 1.5; 16.0 images/s",
                "stage 2 step 4/6: accuracy 1, loss 1; 10.7 images/s",
            ],
        )
        self.assertNotIn("\x1b", stream.getvalue())


def _source():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 24, 24, 1)).astype("float32")
    labels = rng.integers(0, 5, 32).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    return dataset_source(train, 5, eval_dataset=train.take(1), name="step_log")


def _model():
    model = Saccader(num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=0)
    model.build()
    return model


class TrainStageLogTest(tf.test.TestCase):
    def test_a_stage_logs_at_stage_steps_and_writes_scalars(self):
        model_dir = self.get_temp_dir()
        settings = StageSettings(epochs=2, learning_rate=0.01, verbose=0, log_every_steps=3)
        stream = io.StringIO()
        with mock.patch("sys.stdout", stream):
            train_stage(1, _model(), _source(), settings, model_dir=model_dir)
        steps = [line.split(":")[0] for line in stream.getvalue().splitlines()]
        self.assertEqual(steps, ["stage 1 step 3/8", "stage 1 step 6/8"])  # 4 batches per epoch
        events = glob.glob(os.path.join(model_dir, "logs", "stage1", "*tfevents*"))
        tags = set()
        for path in events:
            for event in tf.compat.v1.train.summary_iterator(path):
                tags.update((v.tag, event.step) for v in event.summary.value)
        self.assertIn(("step/loss", 3), tags)
        self.assertIn(("step/loss", 6), tags)


class StopSignalsInProcessTest(tf.test.TestCase):
    def test_a_signal_mid_stage_saves_that_step_and_raises(self):
        model_dir = self.get_temp_dir()
        settings = StageSettings(epochs=2, learning_rate=0.01, verbose=0, save_every_steps=0)

        class SignalAtStep3(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if int(self.model.optimizer.iterations.numpy()) == 3:
                    signal.raise_signal(signal.SIGTERM)

        before = signal.getsignal(signal.SIGTERM)
        with self.assertRaises(StageInterrupted) as stop:
            train_stage(
                1, _model(), _source(), settings, model_dir=model_dir, callbacks=[SignalAtStep3()]
            )
        # The handler runs after step 3's callbacks; the stop comes after the next step.
        self.assertEqual((stop.exception.step, stop.exception.saved), (4, True))
        self.assertEqual(stop.exception.exit_code, 128 + signal.SIGTERM)
        self.assertIs(signal.getsignal(signal.SIGTERM), before)  # the handler is restored
