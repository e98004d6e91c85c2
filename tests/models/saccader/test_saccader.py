"""Saccader model: glimpse loop invariants, readout, boxes, policies, weights and serialisation."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.models.saccader.policies import make_policy
from saccader_tf.models.saccader.saccader import OUTPUT_KEYS, Saccader

TINY = {"num_classes": 5, "image_size": 24, "variant": "bagnet9_tiny", "input_channels": 1}
GRID, STRIDE, RF = 4, 4, 9  # bagnet9_tiny at 24 px


def _images(batch=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, 24, 24, 1)).astype("float32")


def _tiny(**kwargs):
    return Saccader(**{**TINY, "seed": 7, **kwargs})


class GlimpseLoopTest(tf.test.TestCase):
    def test_output_keys_and_shapes(self):
        out = _tiny()(_images(), num_glimpses=5)
        self.assertEqual(set(out), set(OUTPUT_KEYS))
        self.assertEqual(out["glimpse_logits"].shape, (3, 5, 5))
        self.assertEqual(out["location_logits"].shape, (3, 5, GRID * GRID))
        self.assertEqual(out["glimpse_boxes"].shape, (3, 5, 4))

    def test_probabilities_sum_to_one_and_visited_cells_have_zero_probability(self):
        model = _tiny()
        for training in (False, True):
            out = model(_images(), training=training, num_glimpses=GRID * GRID)
            probs, cells = out["probabilities"].numpy(), out["cells"].numpy()
            self.assertAllClose(probs.sum(-1), np.ones(probs.shape[:2]), atol=1e-5)
            for b in range(3):
                # All 16 cells chosen once each: the glimpses are distinct.
                self.assertCountEqual(cells[b], range(GRID * GRID))
                for t in range(GRID * GRID):
                    self.assertAllEqual(probs[b, t, cells[b, :t]], np.zeros(t))
                    self.assertEqual(int(np.sum(probs[b, t] == 0.0)), t)  # mask has t ones

    def test_inference_is_deterministic_and_prefix_stable(self):
        model, images = _tiny(), _images()
        first = model(images, num_glimpses=4)["cells"].numpy()
        again = model(images, num_glimpses=4)["cells"].numpy()
        longer = model(images, num_glimpses=5)["cells"].numpy()
        self.assertAllEqual(first, again)
        self.assertAllEqual(first, longer[:, :4])

    def test_glimpse_logits_are_the_patch_logits_at_the_chosen_cells(self):
        out = _tiny()(_images(), training=True)
        z = out["patch_logits"].numpy().reshape(3, GRID * GRID, -1)
        cells = out["cells"].numpy()
        expected = np.stack([z[b, cells[b]] for b in range(3)])
        self.assertAllClose(out["glimpse_logits"], expected, atol=1e-6)
        self.assertAllClose(out["logits"], expected.mean(axis=1), atol=1e-6)
        self.assertAllClose(out["full_logits"], z.mean(axis=1), atol=1e-5)

    def test_boxes_are_receptive_fields_inside_the_image(self):
        out = _tiny()(_images(), num_glimpses=GRID * GRID)
        cells, boxes = out["cells"].numpy(), out["glimpse_boxes"].numpy()
        i, j = cells // GRID, cells % GRID
        expected = np.stack([i * STRIDE, j * STRIDE, i * STRIDE + RF, j * STRIDE + RF], axis=-1)
        self.assertAllEqual(boxes, expected)
        self.assertTrue(np.all(boxes >= 0) and np.all(boxes <= 24))

    def test_too_many_glimpses_is_a_clear_error(self):
        with self.assertRaisesRegex(
            ValueError, r"number of grid cells \(16 = 4x4\).*num_glimpses=17"
        ):
            _tiny()(_images(), num_glimpses=17)
        with self.assertRaisesRegex(ValueError, r"Received: num_glimpses=0"):
            _tiny(num_glimpses=0)


class WeightsAndSerialisationTest(tf.test.TestCase):
    def test_glimpse_count_and_batch_size_create_no_weights(self):
        model = _tiny()
        model(_images(2), num_glimpses=2)
        names = [v.path for v in model.weights]
        model(_images(5), num_glimpses=7, training=True)
        model(_images(1), num_glimpses=1)
        self.assertEqual([v.path for v in model.weights], names)

    def test_variable_groups_partition_the_trainable_weights(self):
        model = _tiny()
        model.build()
        rep = {v.path for v in model.representation_variables}
        loc = {v.path for v in model.location_variables}
        self.assertFalse(rep & loc)
        self.assertEqual(rep | loc, {v.path for v in model.trainable_variables})
        self.assertTrue(any(path.endswith("cell/w") for path in loc))

    def test_bagnet77_lowd_saccader_weight_count(self):
        model = Saccader(num_classes=1001, image_size=224, variant="bagnet77_lowd")
        model.build()
        self.assertEqual(model.representation.count_params(), 20_628_393)
        self.assertEqual(model.grid, 19)
        # 2048→1024 (1x1), 1024→1024 (3x3), 1024→512 (1x1), 512→512 (3x3), each + BN (4 weights per
        # channel); mixer 1024→512 with bias; cell w of 512.
        attention = (
            2048 * 1024
            + 9 * 1024 * 1024
            + 1024 * 512
            + 9 * 512 * 512
            + 4 * (1024 + 1024 + 512 + 512)
        )
        self.assertEqual(model.count_params(), 20_628_393 + attention + 1024 * 512 + 512 + 512)


class SamplingSeedTest(tf.test.TestCase):
    def test_fixed_seed_reproduces_samples(self):
        images = _images()
        a, b, c = _tiny(seed=11), _tiny(seed=11), _tiny(seed=12)
        for m in (b, c):
            m(images)
            m.set_weights(a.get_weights() if a.built else (a(images), a.get_weights())[1])
        runs = [m(images, training=True, num_glimpses=6)["cells"].numpy() for m in (a, b, c)]
        self.assertAllEqual(runs[0], runs[1])
        self.assertNotAllEqual(runs[0], runs[2])

    @pytest.mark.slow
    def test_replicas_sample_different_cells(self):
        script = textwrap.dedent(
            """
            import json, numpy as np, tensorflow as tf
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
            from saccader_tf.models.saccader.saccader import Saccader
            strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            with strategy.scope():
                model = Saccader(num_classes=5, image_size=24, variant="bagnet9_tiny",
                                 input_channels=1, seed=5)
            images = tf.constant(np.random.default_rng(0).normal(size=(8, 24, 24, 1)), tf.float32)
            model(images[:1])
            # Make the learned policy near-uniform so the samples are decided by the seeds.
            model.cell.w.assign(tf.zeros_like(model.cell.w))
            run = lambda x: model(x, training=True, num_glimpses=4)["cells"]
            per_replica = strategy.run(run, args=(images[:4],))
            print(json.dumps([v.numpy().tolist() for v in strategy.experimental_local_results(per_replica)]))
            """  # noqa: E501 (a script run in a subprocess)
        )
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        first, second = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertNotEqual(first, second)


class BaselinePolicyTest(tf.test.TestCase):
    def test_ordered_logits_follows_the_predicted_class_patch_logits(self):
        model = _tiny(policy="ordered_logits")
        out = model(_images(), num_glimpses=6)
        z = out["patch_logits"].numpy().reshape(3, GRID * GRID, -1)
        predicted = out["full_logits"].numpy().argmax(-1)
        for b in range(3):
            expected = np.argsort(-z[b, :, predicted[b]], kind="stable")[:6]
            self.assertAllEqual(out["cells"][b], expected)

    def test_center_policy_starts_in_the_middle(self):
        out = _tiny(policy="center")(_images(), num_glimpses=4)
        # 4x4 grid: the four central cells (5, 6, 9, 10), lower index first on ties.
        self.assertAllEqual(out["cells"], np.tile([5, 6, 9, 10], (3, 1)))

    def test_random_policy_visits_distinct_cells_uniformly(self):
        model = _tiny(policy="random")
        images = _images(64)
        cells = model(images, num_glimpses=3)["cells"].numpy()
        self.assertTrue(all(len(set(row)) == 3 for row in cells))
        counts = np.bincount(cells.ravel(), minlength=16)
        self.assertGreater(counts.min(), 0)  # 192 draws over 16 cells: every cell is hit
        self.assertNotAllEqual(cells, model(images, num_glimpses=3)["cells"].numpy())

    def test_full_policy_answers_with_the_full_image_logits(self):
        out = _tiny(policy="full")(_images())
        self.assertAllClose(out["logits"], out["full_logits"])
        self.assertEqual(out["cells"].shape, (3, 0))

    def test_evaluation_can_swap_the_policy_without_new_weights(self):
        model = _tiny()
        context, _ = model.context(_images())
        names = [v.path for v in model.weights]
        out = model.unroll(context, num_glimpses=3, policy=make_policy("ordered_logits"))
        learned = model.unroll(context, num_glimpses=3)
        self.assertEqual(out["cells"].shape, (3, 3))
        self.assertAllEqual(learned["cells"], model(_images(), num_glimpses=3)["cells"])
        self.assertEqual([v.path for v in model.weights], names)

    def test_unknown_policy_is_rejected(self):
        with self.assertRaisesRegex(ValueError, r"Received: policy='greedy'"):
            _tiny(policy="greedy")


class TeacherForcingTest(tf.test.TestCase):
    def test_step_t_sees_the_earlier_targets_as_visited(self):
        model = _tiny()
        context, _ = model.context(_images())
        targets = tf.constant([[3, 1, 7], [0, 15, 2], [9, 8, 4]], tf.int32)
        logits = model.teacher_forced_location_logits(context.mixed, targets).numpy()
        self.assertEqual(logits.shape, (3, 3, 16))
        for b in range(3):
            for t in range(3):
                visited = logits[b, t] < -1e4
                self.assertCountEqual(np.flatnonzero(visited), targets[b, :t].numpy())
        first = model.cell.location_logits(context.mixed, tf.zeros((3, 16)))
        self.assertAllClose(logits[:, 0], first)
