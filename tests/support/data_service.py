"""An in-process tf.data service (a dispatcher and its workers on localhost ports chosen by the
system), for the tests of `--data_service`."""

import tensorflow as tf

SERVICE = tf.data.experimental.service


class LocalService:
    """A `DispatchServer` and `num_workers` `WorkerServer`s in this process, on localhost.

    Attributes:
        address: the dispatcher, `grpc://localhost:PORT`.
    """

    def __init__(self, num_workers=1):
        self.dispatcher = SERVICE.DispatchServer(SERVICE.DispatcherConfig(port=0))
        self.address = self.dispatcher.target
        dispatcher = self.address[len("grpc://") :]
        self.workers = [
            SERVICE.WorkerServer(SERVICE.WorkerConfig(dispatcher_address=dispatcher, port=0))
            for _ in range(num_workers)
        ]

    def stop(self):
        """Stops the workers, then the dispatcher."""
        for worker in self.workers:
            worker.stop()
        self.dispatcher.stop()
