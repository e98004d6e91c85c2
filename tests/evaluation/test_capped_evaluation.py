"""`--eval_steps=N` scores N batches spread over the evaluation split, with their own boxes.

An image folder lists its evaluation images class by class, so the first N batches would be its
first classes. The reference numbers below are counted by hand from the made-up split.
"""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from saccader_tf.data import image_folder_source
from saccader_tf.data.eval_subsets import spread_eval
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


class FolderSpreadTest(tf.test.TestCase):
    def test_a_folder_reads_only_the_images_of_the_kept_batches(self):
        # 3 classes x 4 validation images, batch 4: one batch per class. Batches 0 and 2 are
        # kept; the middle class's images are truncated PNGs (their signature passes the listing,
        # their pixels cannot be decoded), so reading them would stop the pipeline.
        root = self.create_tempdir().full_path
        good = io.BytesIO()
        Image.fromarray(np.full((9, 9), 128, np.uint8)).save(good, format="PNG")
        for split, count in (("train", 4), ("val", 4)):
            for name in ("a", "b", "c"):
                os.makedirs(os.path.join(root, split, name))
                for i in range(count):
                    data = good.getvalue()
                    if split == "val" and name == "b":
                        data = data[:40]
                    with open(os.path.join(root, split, name, f"{i}.png"), "wb") as f:
                        f.write(data)
        source = image_folder_source(root, image_size=8, batch_size=4, cache="stream")
        labels = [labels.tolist() for _, labels in spread_eval(source, 2).as_numpy_iterator()]
        self.assertEqual(labels, [[0, 0, 0, 0], [2, 2, 2, 2]])
        # A streamed folder's split has no cardinality (its files are read by an interleave):
        # the 3 batches come from its 12 images and the batch size.
        self.assertLess(int(source.eval.cardinality()), 0)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"b[/\\]0\.png"):
            list(source.eval.as_numpy_iterator())  # the whole split does read them
