"""`python -m saccader_tf.data_service`: a tf.data service dispatcher or worker, for
`--data_service` (docs/distributed.md, "tf.data service").

    python -m saccader_tf.data_service --role=dispatcher --port=5050
    python -m saccader_tf.data_service --role=worker --dispatcher=HOST:5050 --port=5051

Each serves until it is stopped (Ctrl-C, SIGTERM). A worker tells the dispatcher it is reachable
at `--host:--port` (default: this machine's name), the address the trainer then reads batches
from. Bad flags are one line `error: ...` with exit code 2.

The flags live in their own `FlagValues`, so that they never meet the launcher's.
"""

import socket
import sys

from absl import flags

from saccader_tf.cli.tool_args import UsageError, parse_tool_args

ROLES = ("dispatcher", "worker")
USAGE = (
    "python -m saccader_tf.data_service --role=dispatcher --port=5050 | "
    "--role=worker --dispatcher=HOST:5050 --port=5051"
)


class ServiceUsageError(UsageError):
    """Flags that cannot work (reported as one line, exit code 2)."""


def make_flags():
    """A fresh `FlagValues` with the dispatcher's and worker's flags."""
    values = flags.FlagValues()
    flags.DEFINE_enum("role", None, ROLES, "What this process serves.", flag_values=values)
    flags.DEFINE_integer("port", None, "The port to listen on (1-65535).", flag_values=values)
    flags.DEFINE_string(
        "dispatcher", None, "Worker: the dispatcher's HOST:PORT.", flag_values=values
    )
    flags.DEFINE_string(
        "host",
        None,
        "Worker: the name or address the trainer reaches this machine at (default: its name).",
        flag_values=values,
    )
    return values


def start(role, port, dispatcher=None, host=None):
    """Starts the dispatcher or worker `role` on `port`; returns the running TensorFlow server
    (`tf.data.experimental.service.DispatchServer` or `WorkerServer`)."""
    import tensorflow as tf

    service = tf.data.experimental.service
    if role == "dispatcher":
        return service.DispatchServer(service.DispatcherConfig(port=port))
    address = f"{host or socket.gethostname()}:%port%"
    config = service.WorkerConfig(dispatcher_address=dispatcher, port=port, worker_address=address)
    return service.WorkerServer(config)


def checked(values):
    """Raises `ServiceUsageError` for flags that cannot work."""
    if values.role is None or values.port is None:
        raise ServiceUsageError(f"--role and --port are needed: usage: {USAGE}")
    if not 1 <= values.port <= 65535:
        raise ServiceUsageError(f"--port must lie in [1, 65535]. Received: --port={values.port}")
    if values.role == "worker" and not values.dispatcher:
        raise ServiceUsageError(f"--role=worker needs --dispatcher=HOST:PORT: usage: {USAGE}")
    if values.role == "dispatcher" and (values.dispatcher or values.host):
        raise ServiceUsageError("--dispatcher and --host apply to --role=worker.")
    if values.dispatcher and values.dispatcher.startswith("grpc://"):
        values.dispatcher = values.dispatcher[len("grpc://") :]


def main(argv=None):
    """Parses `argv` (default `sys.argv`), serves until stopped; the exit code."""
    argv = sys.argv if argv is None else argv
    values = make_flags()
    code = parse_tool_args(values, argv, USAGE, checked)
    if code is not None:
        return code
    server = start(values.role, values.port, values.dispatcher, values.host)
    where = f"grpc://{values.host or socket.gethostname()}:{values.port}"
    print(f"tf.data service {values.role} serving at {where}", flush=True)
    try:
        server.join()
    except KeyboardInterrupt:
        pass
    return 0


def run():
    """The command: `main()`'s exit code."""
    sys.exit(main())
