"""The process-wide record of skipped files under parallel decode threads."""

import os
import re
import tempfile

import tensorflow as tf

from saccader_tf.data.skipped_files import note_skipped_in_graph, skipped_while_decoding

_COUNT = re.compile(r"Skipping image file (\S+): .* \((\d+) file\(s\) skipped while decoding")


def _stderr_of(run):
    """Runs `run()` with file descriptor 2 sent to a file (tf.print writes there from C++)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            run()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return sink.read().decode("utf-8", errors="replace")


class ParallelNotesTest(tf.test.TestCase):
    def test_parallel_threads_name_each_file_once_and_count_in_print_order(self):
        before = len(skipped_while_decoding())
        names = tf.constant([f"parallel/bad{i:03d}.jpg" for i in range(200)] * 2)  # each twice
        dataset = tf.data.Dataset.range(400).map(
            lambda i: note_skipped_in_graph(tf.gather(names, i), tf.constant("parallel/good.png")),
            num_parallel_calls=8,
            deterministic=False,
        )

        def read_all():
            for _ in dataset:
                pass

        notes = _COUNT.findall(_stderr_of(read_all))
        printed = [name for name, _ in notes]
        self.assertCountEqual(printed, [f"parallel/bad{i:03d}.jpg" for i in range(200)])
        self.assertEqual([int(c) for _, c in notes], list(range(before + 1, before + 201)))
        self.assertLen(skipped_while_decoding(), before + 200)


if __name__ == "__main__":
    tf.test.main()
