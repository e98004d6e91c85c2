"""`service_source`: training epochs made by tf.data service workers (an in-process dispatcher
and workers on localhost) against the local pipeline they come from."""

import socket

import numpy as np
import tensorflow as tf

from saccader_tf.data import cluttered_mnist_source
from saccader_tf.data.resumable_epochs import training_batches
from saccader_tf.data.service import (
    DispatcherUnreachable,
    check_dispatcher,
    service_source,
    split_address,
)
from saccader_tf.data.source import DataSource
from tests.support.data_service import LocalService

BATCH, NUM_TRAIN = 8, 48  # 6 batches an epoch


def _source():
    return cluttered_mnist_source(image_size=28, batch_size=BATCH, seed=3, num_train=NUM_TRAIN)


def _numpy(dataset):
    return [tuple(np.asarray(t) for t in batch) for batch in dataset.as_numpy_iterator()]


def _index_source(num_examples=40, batch=4):
    """A source whose image `i` is filled with `i` (so a batch says which examples it holds)."""

    def train_epoch(epoch, skip_batches=0):
        del epoch
        return (
            tf.data.Dataset.range(skip_batches * batch, num_examples)
            .map(lambda i: (tf.fill([2, 2, 1], tf.cast(i, tf.float32)), tf.cast(i % 2, tf.int32)))
            .batch(batch, drop_remainder=True)
        )

    return DataSource(
        train_epoch=train_epoch,
        eval=train_epoch(0),
        num_classes=2,
        image_size=2,
        channels=1,
        mean=(0.0,),
        std=(1.0,),
        name="indices",
        train_size=num_examples,
        batch_size=batch,
    )


class AddressTest(tf.test.TestCase):
    def test_grpc_host_port_is_split_and_other_forms_are_not(self):
        self.assertEqual(split_address("grpc://localhost:5050"), ("localhost", 5050))
        self.assertEqual(split_address("grpc://10.1.2.3:1"), ("10.1.2.3", 1))
        self.assertEqual(split_address("grpc://[::1]:65535"), ("::1", 65535))
        for bad in ("", "localhost:5050", "grpc://host", "grpc://host:0", "grpc://host:65536",
                    "http://host:5050", "grpc://host:50/x", "grpc://a b:5050"):  # fmt: skip
            self.assertIsNone(split_address(bad), bad)

    def test_a_closed_port_is_one_line_naming_the_address_and_the_fix(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()  # bound, then closed without listening: connections are refused
        address = f"grpc://127.0.0.1:{port}"
        with self.assertRaises(DispatcherUnreachable) as raised:
            check_dispatcher(address, timeout=5)
        message = str(raised.exception)
        self.assertIn(address, message)
        self.assertIn(f"--role=dispatcher --port={port}", message)
        self.assertNotIn("\n", message)

    def test_a_listening_port_passes(self):
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            check_dispatcher(f"grpc://127.0.0.1:{server.getsockname()[1]}", timeout=5)


class OneWorkerTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service = LocalService(num_workers=1)

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        super().tearDownClass()

    def test_sharding_off_serves_the_local_batches_across_epochs_and_from_a_resume_point(self):
        local = _source()
        served = service_source(local, self.service.address, "off")
        for first, count in ((0, 8), (4, 5)):  # from the start; a resume at step 4 of epoch 0
            expected = _numpy(training_batches(local, first, count))
            got = _numpy(training_batches(served, first, count))
            self.assertLen(got, count)
            for (images, labels), (want_images, want_labels) in zip(got, expected):
                self.assertAllEqual(labels, want_labels)
                self.assertAllEqual(images, want_images)
        self.assertIs(served.eval, local.eval)  # evaluation stays local


class TwoWorkersTest(tf.test.TestCase):
    def test_dynamic_sharding_uses_examples_at_most_once_and_gives_every_step_a_batch(self):
        service = LocalService(num_workers=2)
        try:
            source = _index_source(num_examples=40, batch=4)
            served = service_source(source, service.address, "dynamic")
            epoch = _numpy(served.train_epoch(0).take(10))  # one epoch: 10 batches of 4
            stream = _numpy(training_batches(served, 2, 12))  # a resume at step 2, into epoch 1
        finally:
            service.stop()
        self.assertLen(epoch, 10)
        self.assertLen(stream, 12)
        for images, labels in epoch + stream:
            self.assertEqual(images.shape, (4, 2, 2, 1))
            indices = images[:, 0, 0, 0].astype(int)
            self.assertAllEqual(labels, indices % 2)  # images and labels still belong together
            self.assertTrue(np.all((0 <= indices) & (indices < 40)))
        # Each worker drops its leftover (< 4) examples, then the top-up pass repeats some, so
        # within one epoch an example occurs at most twice and at least 40 - 2 * 3 are used.
        counts = np.bincount(np.concatenate([b[0][:, 0, 0, 0] for b in epoch]).astype(int))
        self.assertLessEqual(counts.max(), 2)
        self.assertGreaterEqual(int(np.count_nonzero(counts)), 40 - 2 * 3)
