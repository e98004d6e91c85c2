"""`ProgressLine`: in place on a terminal, a plain line per tenth in a log; never escape codes."""

import contextlib
import io
import os

import tensorflow as tf

from saccader_tf.data import image_folder_source
from saccader_tf.utils.progress_line import ProgressLine
from tests.support.image_folder_fixture import write_random_image_folder


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class ProgressLineTest(tf.test.TestCase):
    def test_a_log_gets_a_line_per_tenth_and_the_end(self):
        log = io.StringIO()
        progress = ProgressLine(25, "decoding", stream=log)
        for done in range(1, 26):
            progress.show(done, final=done == 25)
        lines = log.getvalue().splitlines()
        # 25 // 10 = 2 images per line: 2, 4, ..., 24, then 25 at the end.
        self.assertEqual(lines[0], "decoding: 2/25 images")
        self.assertEqual(lines[-2:], ["decoding: 24/25 images", "decoding: 25/25 images"])
        self.assertLen(lines, 13)

    def test_a_terminal_line_is_rewritten_in_place(self):
        terminal = _Terminal()
        progress = ProgressLine(3, "predict", stream=terminal)
        for done in (1, 2, 3):
            progress.show(done, " (0 unreadable)", final=done == 3)
        self.assertEqual(
            terminal.getvalue(),
            "\rpredict: 1/3 images (0 unreadable)\rpredict: 2/3 images (0 unreadable)"
            "\rpredict: 3/3 images (0 unreadable)\n",
        )

    def test_the_decode_once_cache_writes_no_escape_codes(self):
        root = write_random_image_folder(
            os.path.join(self.get_temp_dir(), "folder"), train=8, val=2, height=20, width=20
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            image_folder_source(root, image_size=12, batch_size=4, seed=0, cache="memory")
        self.assertIn("decoding: 8/8 images\n", out.getvalue())
        self.assertNotIn("\x1b", out.getvalue())


class EvaluationProgressTest(tf.test.TestCase):
    def test_run_batches_reports_each_tenth_of_its_batches(self):
        from saccader_tf.evaluation.batch_sums import run_batches

        images = tf.zeros([24, 4, 4, 1])
        labels = tf.zeros([24], tf.int32)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)  # 12 batches

        def step(images, labels, object_boxes, seed):
            return {"count": tf.shape(labels)[0]}

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            totals, examples = run_batches(step, dataset, None, 5, 0, progress=True)
        self.assertEqual((examples, totals["count"]), (10, 10.0))  # 5 batches of 2
        self.assertEqual(
            out.getvalue().splitlines(),
            [f"evaluating: {i}/5 batches" for i in range(1, 6)],  # 5 // 10 -> every batch
        )
        # A dataset that cannot tell its length (a streamed folder): the caller's count.
        unknown = dataset.filter(lambda images, labels: True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run_batches(step, unknown, None, None, 0, progress=True, num_batches=12)
        self.assertEqual(out.getvalue().splitlines()[-1], "evaluating: 12/12 batches")
