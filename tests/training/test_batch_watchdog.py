"""`BatchWatchdog`: armed while training steps run, disarmed in evaluation and after `fit`; past
its timeout it prints one line and exits with code 2."""

import contextlib
import io
import threading

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.training.batch_watchdog import BatchWatchdog


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class BatchWatchdogTest(tf.test.TestCase):
    def test_overdue_only_while_armed_and_past_the_timeout(self):
        clock = Clock()
        dog = BatchWatchdog(10, "stuck", exit=lambda code: None, clock=clock)
        self.assertFalse(dog.overdue())  # not armed before fit
        dog.on_train_begin()
        clock.now = 10.0
        self.assertFalse(dog.overdue())  # exactly the timeout: still in time
        clock.now = 10.5
        self.assertTrue(dog.overdue())
        dog.on_train_batch_end(0)  # a step ended: the wait starts again
        self.assertFalse(dog.overdue())
        dog.on_test_begin()  # evaluation is not waiting for training batches
        clock.now = 100.0
        self.assertFalse(dog.overdue())
        dog.on_test_end()
        clock.now = 105.0
        self.assertFalse(dog.overdue())
        dog.on_train_end()
        clock.now = 1000.0
        self.assertFalse(dog.overdue())

    def test_past_the_timeout_it_prints_one_line_and_exits_with_2(self):
        exited, codes = threading.Event(), []
        dog = BatchWatchdog(
            0.05, "no batch from grpc://h:1", exit=lambda c: (codes.append(c), exited.set())
        )
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            dog.on_train_begin()
            self.assertTrue(exited.wait(30))
        self.assertEqual(codes, [2])
        self.assertEqual(stderr.getvalue(), "error: no batch from grpc://h:1\n")

    def test_a_fit_that_steps_in_time_is_never_stopped(self):
        codes = []
        dog = BatchWatchdog(600, "stuck", exit=codes.append)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        x = np.zeros((8, 2), "float32")
        model.fit(
            x,
            x[:, :1],
            batch_size=4,
            epochs=2,
            validation_data=(x, x[:, :1]),
            verbose=0,
            callbacks=[dog],
        )
        self.assertFalse(dog.overdue())
        self.assertEqual(codes, [])
