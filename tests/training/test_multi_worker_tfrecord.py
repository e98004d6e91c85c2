"""TFRecord shards under `--strategy=multi_worker`: two workers on 127.0.0.1, each preparing only
its share of every global batch.

The worker script runs in the 2 processes of a local `MultiWorkerMirroredStrategy` cluster
(`launch/multi_worker_local.py`). Each worker:

1. reads epochs (whole, and resumed after 2 batches) twice: as Keras distributes a plain dataset
   (`experimental_distribute_dataset`, data sharding: the worker prepares every record) and as
   `train_stage` now does for this source (`distribute_datasets_from_function` of
   `train_epoch(..., input_context=...)`), and compares what its replica gets; it also records
   which rows of the one-process global batches that is (TensorFlow's row assignment) and, with a
   counter in the recipe's training half, which records it prepared on the new path;
2. trains stage 1 for 2 steps with `train_stage` on the shards, and the chief trains a
   one-process copy from the same weights on the same source (BatchNormalization frozen, as in
   `test_multi_worker.py`).
"""

import os
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from tests.support.local_cluster import ClusterResults, multi_worker_local
from tests.support.tfrecord_fixture import write_mixed_folder, write_shards

TRAIN, BATCH = 32, 8

_WORKER_SCRIPT = r"""
import json, os, sys
from unittest import mock
import numpy as np
import tensorflow as tf
import keras

from saccader_tf.data import make_source
from saccader_tf.data.tfrecord_batches import Reading
from saccader_tf.run.settings import StageSettings
from saccader_tf.training import worker_inputs
from saccader_tf.training.distribute import make_strategy
from saccader_tf.training.train_stage import train_stage
from tests.support.comparable_models import greedy_saccader

shards, out_dir = sys.argv[1], sys.argv[2]
strategy = make_strategy("multi_worker")
task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
source = make_source(f"tfrecord:{shards}", image_size=24, batch_size=8, seed=5,
                     augment="imagenet", channels=1)
report = {"task": task, "replicas": strategy.num_replicas_in_sync,
          "shares": worker_inputs.shares_inputs(strategy, source)}


def local(distributed):
    out = []
    for images, labels in distributed:
        images, labels = (strategy.experimental_local_results(x)[0].numpy() for x in (images, labels))
        out.append((images, labels))
    return out


decoded = []
original = Reading.train_input


def counted(self, record, seed):
    noted = tf.py_function(lambda p: decoded.append(int(p)) or np.int64(0), [seed[1]], tf.int64)
    with tf.control_dependencies([noted]):
        return original(self, tf.identity(record), seed)


for epoch, skip in ((0, 0), (1, 2)):
    name = f"epoch{epoch}_skip{skip}"
    plain = local(strategy.experimental_distribute_dataset(source.train_epoch(epoch, skip)))
    decoded.clear()
    with mock.patch.object(Reading, "train_input", counted):
        shared = strategy.distribute_datasets_from_function(
            lambda context: source.train_epoch(epoch, skip, input_context=context))
    shared = local(shared)
    report[name + "_decoded"] = sorted(decoded)
    report[name + "_batches"] = [len(plain), len(shared)]
    report[name + "_max_difference"] = max(
        float(np.max(np.abs(a[0] - b[0]))) for a, b in zip(plain, shared))
    report[name + "_labels_equal"] = all(np.array_equal(a[1], b[1]) for a, b in zip(plain, shared))
    whole = list(source.train_epoch(epoch, skip).as_numpy_iterator())  # one process's batches
    rows = []
    for (images, labels), (all_images, all_labels) in zip(plain, whole):
        matches = [start for start in range(len(all_labels) - len(labels) + 1)
                   if np.array_equal(all_images[start:start + len(labels)], images)]
        rows.append([matches[0], matches[0] + len(labels)] if matches else None)
    report[name + "_rows"] = rows

keras.utils.set_random_seed(0)
with strategy.scope():
    distributed = greedy_saccader()
initial = distributed.get_weights()
settings = StageSettings(epochs=1, steps_per_epoch=2, eval_steps=1, learning_rate=0.1,
                         weight_decay=1e-2, num_targets=6, optimizer="sgd", verbose=0)
model_dir = os.path.join(out_dir, "model")
report["steps"] = train_stage(1, distributed, source, settings, model_dir=model_dir,
                              strategy=strategy)["steps"]
np.savez(os.path.join(out_dir, f"worker{task}.npz"), *distributed.get_weights())
if task == 0:
    single = greedy_saccader()
    single.set_weights(initial)
    train_stage(1, single, source, settings, model_dir=model_dir, write_checkpoint=False)
    np.savez(os.path.join(out_dir, "single.npz"), *single.get_weights())
    np.savez(os.path.join(out_dir, "initial.npz"), *initial)
print("RESULT " + json.dumps(report), flush=True)
from saccader_tf.training import multi_worker
multi_worker.wait_for_every_worker(strategy)
"""  # noqa: E501 (a script run in a subprocess)


@pytest.mark.slow
class MultiWorkerTfrecordTest(ClusterResults, tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.out_dir = tempfile.mkdtemp(prefix="multi_worker_tfrecord_")
        folder = os.path.join(cls.out_dir, "images")
        write_mixed_folder(folder, train=TRAIN, val=8)
        shards = write_shards(folder, os.path.join(cls.out_dir, "shards"), shards=3)
        command = [sys.executable, "-c", _WORKER_SCRIPT, shards, cls.out_dir]
        cls.results = multi_worker_local.run_workers([command, command], timeout=240)

    def test_each_replica_gets_the_rows_data_sharding_gives_it(self):
        reports = self.worker_reports()
        self.assertEqual([r["replicas"] for r in reports], [2, 2])
        self.assertEqual([r["shares"] for r in reports], [True, True])
        for name, batches in (("epoch0_skip0", 4), ("epoch1_skip2", 2)):
            for worker, report in enumerate(reports):
                self.assertEqual(report[name + "_batches"], [batches, batches], name)
                self.assertTrue(report[name + "_labels_equal"], name)
                self.assertLess(report[name + "_max_difference"], 1e-6, name)
                # TensorFlow's assignment: worker w gets rows [w·G/2, (w + 1)·G/2) of each batch.
                half = BATCH // 2
                expected = [[worker * half, (worker + 1) * half]] * batches
                self.assertEqual(report[name + "_rows"], expected, f"{name}, worker {worker}")

    def test_each_worker_prepares_only_its_share(self):
        reports = self.worker_reports()
        for name, first in (("epoch0_skip0", 0), ("epoch1_skip2", 2 * BATCH)):
            everything = list(range(first, TRAIN))
            decoded = [r[name + "_decoded"] for r in reports]
            for worker, positions in enumerate(decoded):
                self.assertLen(positions, len(everything) // 2, f"{name}, worker {worker}")
            self.assertCountEqual(decoded[0] + decoded[1], everything, name)

    def test_stage1_matches_one_process(self):
        reports = self.worker_reports()
        self.assertEqual([r["steps"] for r in reports], [2, 2])
        initial, single = self.saved_weights("initial.npz"), self.saved_weights("single.npz")
        update = max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))
        self.assertGreater(update, 1e-3, "the steps did nothing")
        chief, other = self.saved_weights("worker0.npz"), self.saved_weights("worker1.npz")
        for a, b, c in zip(chief, other, single):
            self.assertAllClose(a, b, atol=1e-5, rtol=0, msg="workers differ")
            self.assertAllClose(a, c, atol=1e-5, rtol=0, msg="differs from one process")
