"""`--eval_steps=N` scores N batches spread over the evaluation split, with their own boxes.

An image folder lists its evaluation images class by class, so the first N batches would be its
first classes. The reference numbers below are counted by hand from the made-up split.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.batch_sums import run_batches
from saccader_tf.run.orchestrator import evaluation_batches
from tests.support.sources import dataset_source


def _class_ordered(batches=6, batch_size=3):
    """A split of `batches` batches; batch b holds class b, and example i has box row [i] * 4."""
    count = batches * batch_size
    images = np.zeros((count, 8, 8, 1), np.float32)
    labels = np.repeat(np.arange(batches, dtype=np.int32), batch_size)
    boxes = np.repeat(np.arange(count, dtype=np.int32)[:, None], 4, axis=1)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size), boxes


def _recording_step(seen):
    def step(images, labels, object_boxes, seed):
        seen.append((labels.numpy().tolist(), object_boxes.numpy()[:, 0].tolist(), int(seed[1])))
        return {"count": tf.shape(labels)[0]}

    return step


class CappedEvaluationTest(tf.test.TestCase):
    def test_batches_are_spread_and_keep_their_boxes_and_seeds(self):
        dataset, boxes = _class_ordered()
        seen = []
        totals, examples = run_batches(_recording_step(seen), dataset, boxes, 3, seed=7)
        # 3 of 6 batches, each the middle of its share: batches 1, 3, 5 (examples 3-5, 9-11,
        # 15-17), the last class included.
        self.assertEqual(
            seen,
            [([1, 1, 1], [3, 4, 5], 1), ([3, 3, 3], [9, 10, 11], 3), ([5, 5, 5], [15, 16, 17], 5)],
        )
        self.assertEqual((examples, totals["count"]), (9, 9.0))

    def test_all_batches_and_an_unknown_length_take_them_in_order(self):
        dataset, boxes = _class_ordered(batches=3)
        seen = []
        run_batches(_recording_step(seen), dataset, boxes, None, seed=0)
        self.assertEqual([labels[0] for labels, _, _ in seen], [0, 1, 2])
        seen.clear()
        unknown = dataset.filter(lambda images, labels: True)
        run_batches(_recording_step(seen), unknown, boxes, 2, seed=0)
        self.assertEqual([first for _, (first, *_), _ in seen], [0, 3])  # the first two

    def test_too_few_boxes_for_a_kept_batch_is_named(self):
        dataset, boxes = _class_ordered()
        with self.assertRaisesRegex(ValueError, r"eval_boxes.*at least 18 examples"):
            run_batches(_recording_step([]), dataset, boxes[:16], 3, seed=0)

    def test_the_end_of_run_comparison_reads_the_same_spread(self):
        dataset, _ = _class_ordered()
        source = dataset_source(dataset, 6, eval_dataset=dataset, name="classes")
        firsts = [int(labels[0]) for _, labels in evaluation_batches(source, 2)]
        self.assertEqual(firsts, [1, 4])  # floor(1.5), floor(4.5)
        self.assertLen(list(evaluation_batches(source, None)), 6)
