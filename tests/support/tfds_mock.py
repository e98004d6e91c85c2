"""TFDS mock data that fails on any download attempt."""

import contextlib
import socket
from unittest import mock

import tensorflow_datasets as tfds


@contextlib.contextmanager
def offline_mock(num_examples):
    """`mock_data` plus a socket guard: any connection attempt is recorded and refused."""
    attempts = []

    def refuse(sock, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network disabled in tests: {address}")

    with (
        tfds.testing.mock_data(num_examples=num_examples),
        mock.patch.object(socket.socket, "connect", refuse),
    ):
        yield attempts
