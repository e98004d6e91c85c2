"""Training batches read from tf.data service workers instead of being made in the trainer.

`service_source(source, address, sharding)` is `source` whose `train_epoch(epoch, skip)` pipelines
run on the workers of the tf.data service dispatcher at `address` (`grpc://HOST:PORT`); the
evaluation pipeline stays local. Each epoch piece is its own tf.data service job, built from the
same local pipeline (shuffled, augmented and cut at `skip` before it is sent), so the batch index
of a stage means the same as without the service:

- `sharding="off"`: every worker produces the whole piece. With one worker the trainer reads
  exactly the local batches, in the local order (a resume is exact); with `k` workers it would
  read every batch `k` times, so run one worker per trainer.
- `sharding="dynamic"`: the dispatcher hands the examples of the piece to whichever worker asks
  next, and each worker batches the examples it got. Every example of an epoch is used at most
  once, but which examples share a batch and the order of the batches depend on the workers'
  timing, so neither a rerun nor a resume sees the local batches. The few examples left over on
  each worker are dropped (`drop_remainder`); a piece that comes out short is topped up from a
  second pass over the same epoch, so a stage always trains its full number of steps.

See docs/distributed.md, "tf.data service".
"""

import dataclasses
import re
import socket

import tensorflow as tf

from saccader_tf.utils.errors import UserError

SHARDING = ("off", "dynamic")
"""The `sharding` choices of `service_source` (see the module docstring)."""
CONNECT_TIMEOUT = 10.0
"""Seconds `check_dispatcher` waits for the dispatcher's port to accept a connection."""
_ADDRESS = re.compile(r"^grpc://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})$")


class DispatcherUnreachable(UserError):
    """Nothing accepts connections at the tf.data service dispatcher's address."""


def split_address(address):
    """`(host, port)` of a dispatcher address `grpc://HOST:PORT`, or `None` when `address` does
    not look like one (`HOST` a name, an IPv4 address or a bracketed IPv6 address; `PORT` in
    `[1, 65535]`)."""
    match = _ADDRESS.match(address or "")
    if not match or not 1 <= int(match["port"]) <= 65535:
        return None
    return match["host"].strip("[]"), int(match["port"])


def check_dispatcher(address, timeout=CONNECT_TIMEOUT):
    """Raises `DispatcherUnreachable` unless a TCP connection to `address` opens within
    `timeout` seconds.

    TensorFlow itself retries an unreachable dispatcher for a long time without a word, so this
    is checked once before any dataset is sent to it.

    Args:
        address: `grpc://HOST:PORT` (see `split_address`).
        timeout: seconds to wait.
    """
    host, port = split_address(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        timed_out = isinstance(error, socket.timeout)
        reason = f"no answer within {timeout:g} s" if timed_out else error.strerror or error
        raise DispatcherUnreachable(
            f"No tf.data service dispatcher answers at {address} ({reason}): start one there "
            f"(python -m saccader_tf.data_service --role=dispatcher --port={port}) or give the "
            "address of a running one."
        ) from None


def service_source(source, address, sharding="off"):
    """`source` with its training epochs made by the tf.data service at `address`.

    Args:
        source: a `saccader_tf.data.DataSource`; its pipelines must be serialisable (TensorFlow
            ops only).
        address: the dispatcher, `grpc://HOST:PORT`.
        sharding: `"off"` or `"dynamic"` (see the module docstring).

    Returns:
        A `DataSource` equal to `source` but for `train_epoch`, whose batches
        `(float32 [B, S, S, C], int32 [B])` come from the service's workers.
    """
    if sharding not in SHARDING:
        raise ValueError(f"`sharding` must be one of {SHARDING}. Received: sharding={sharding!r}")
    mode = (
        tf.data.experimental.service.ShardingPolicy.OFF
        if sharding == "off"
        else tf.data.experimental.service.ShardingPolicy.DYNAMIC
    )
    local_epoch = source.train_epoch

    def train_epoch(epoch, skip_batches=0):
        local = local_epoch(epoch, skip_batches)
        served = local.apply(
            tf.data.experimental.service.distribute(processing_mode=mode, service=address)
        )
        served = served if sharding == "off" else served.repeat()
        return served.prefetch(tf.data.AUTOTUNE)

    return dataclasses.replace(source, train_epoch=train_epoch)
