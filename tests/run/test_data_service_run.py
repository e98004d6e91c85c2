"""`--data_service` in a run: its settings checks, the one-line stop when no dispatcher answers, and
a stage trained through an in-process tf.data service (one worker, sharding off) against the same
stage trained locally."""

import contextlib
import dataclasses
import socket
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.data.service import DispatcherUnreachable
from saccader_tf.models import Saccader
from saccader_tf.run import sources
from saccader_tf.run.settings import RunSettings, StageSettings
from saccader_tf.run.settings_error import SettingsError
from saccader_tf.training.batch_watchdog import BatchWatchdog
from saccader_tf.training.train_stage import train_stage
from tests.support.data_service import LocalService
from tests.support.launcher_flags import flag_problem


def _closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class DataServiceSettingsTest(tf.test.TestCase):
    def test_the_address_must_be_grpc_host_port(self):
        problem = flag_problem(data_service="localhost:5050", stage="1")
        self.assertStartsWith(problem, "--data_service must look like grpc://HOST:PORT")
        self.assertIn("Received: --data_service=localhost:5050", problem)
        self.assertIsNone(flag_problem(data_service="grpc://localhost:5050", stage="1"))

    def test_stages_that_train_nothing_and_sharding_without_a_service_are_refused(self):
        for stage in ("eval", "export"):
            with self.assertRaisesRegex(SettingsError, f"stage={stage} trains nothing"):
                RunSettings(data_service="grpc://h:1").validate(stage)
        problem = flag_problem(data_service_sharding="dynamic", stage="1")
        self.assertStartsWith(problem, "--data_service_sharding applies to --data_service")
        RunSettings(data_service="grpc://h:1", data_service_sharding="dynamic").validate("all")

    def test_no_dispatcher_is_one_line_before_any_data_is_sent(self):
        address = f"grpc://127.0.0.1:{_closed_port()}"
        settings = RunSettings(data_service=address)
        with (
            mock.patch.object(sources, "make_source", return_value="source"),
            mock.patch.object(sources, "explained_download", return_value=contextlib.nullcontext()),
            mock.patch.object(sources, "service_source") as served,
        ):
            with self.assertRaisesRegex(DispatcherUnreachable, f"answers at {address} "):
                sources.data_source(settings)
        served.assert_not_called()


def _trained_weights(settings):
    source = sources.data_source(settings)
    keras.utils.set_random_seed(0)
    model = Saccader(
        num_classes=10,
        image_size=28,
        variant="bagnet9_tiny",
        input_channels=1,
        num_glimpses=2,
        seed=0,
    )
    model.build()
    initial = [np.asarray(v) for v in model.weights]
    stage = StageSettings(epochs=1, steps_per_epoch=3, eval_steps=1, learning_rate=0.01, verbose=0)
    train_stage(1, model, source, stage, model_dir=None, write_checkpoint=False)
    return initial, [np.asarray(v) for v in model.weights]


class TrainedThroughTheServiceTest(tf.test.TestCase):
    def test_one_worker_without_sharding_trains_the_weights_of_a_local_run(self):
        # 16 examples of 8: 2 batches a data epoch, so the stage's 3 steps cross into the next.
        settings = RunSettings(image_size=28, batch_size=8, train_examples=16, seed=2)
        service = LocalService(num_workers=1)
        try:
            address = service.address
            _, served = _trained_weights(dataclasses.replace(settings, data_service=address))
        finally:
            service.stop()
        initial, local = _trained_weights(settings)
        changed = [not np.array_equal(a, b) for a, b in zip(local, initial)]
        self.assertTrue(any(changed))  # the stage trained something
        for got, want in zip(served, local):
            self.assertAllEqual(got, want)


class WatchdogOfTheRunTest(tf.test.TestCase):
    def test_only_a_run_with_a_data_service_gets_the_batch_watchdog(self):
        self.assertEqual(sources.training_callbacks(RunSettings()), [])
        (dog,) = sources.training_callbacks(RunSettings(data_service="grpc://h:5050"))
        self.assertIsInstance(dog, BatchWatchdog)
        self.assertEqual(dog.timeout, sources.SERVICE_STEP_TIMEOUT)
        self.assertIn("the tf.data service at grpc://h:5050 sends no batches", dog.message)
