"""`python -m saccader_tf.data_service`: its flag checks (one line, exit code 2) and the servers it
starts (a dispatcher and a worker on localhost, in this process)."""

import contextlib
import io

import tensorflow as tf

from saccader_tf.cli import data_service


def _exit_and_error(*args):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = data_service.main(["data_service", *args])
    return code, stderr.getvalue()


class FlagsTest(tf.test.TestCase):
    def test_flags_that_cannot_work_are_one_line_with_exit_code_2(self):
        cases = {
            ("--role=worker", "--port=5051"): "--role=worker needs --dispatcher=HOST:PORT",
            ("--role=dispatcher",): "--role and --port are needed",
            ("--role=dispatcher", "--port=0"): "--port must lie in [1, 65535]",
            ("--role=dispatcher", "--port=5050", "--host=a"): "--host apply to --role=worker",
            ("--role=master", "--port=5050"): "role",
        }
        for args, expected in cases.items():
            code, error = _exit_and_error(*args)
            self.assertEqual(code, 2, args)
            self.assertStartsWith(error, "error: ")
            self.assertIn(expected, error)
            self.assertEqual(error.count("\n"), 1, error)


class ServersTest(tf.test.TestCase):
    def test_the_worker_serves_the_dispatchers_jobs_at_the_address_it_names(self):
        dispatcher = data_service.start("dispatcher", 0)
        port = int(dispatcher.target.rsplit(":", 1)[1])
        worker = data_service.start("worker", 0, dispatcher=f"localhost:{port}", host="localhost")
        try:
            served = tf.data.Dataset.range(6).apply(
                tf.data.experimental.service.distribute("parallel_epochs", dispatcher.target)
            )
            self.assertEqual(list(served.as_numpy_iterator()), [0, 1, 2, 3, 4, 5])
        finally:
            worker.stop()
            dispatcher.stop()
