"""Tests of the stage 1-3 losses, the reward and the global-batch baseline (hand-computed
values)."""

import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.training import losses, rewards
from tests.support.paths import REPO_ROOT


def _np_log_softmax(x):
    """Independent numpy log-softmax over the last axis."""
    x = np.asarray(x, np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class PerLocationCrossEntropyTest(tf.test.TestCase):
    def test_hand_computed_1x2_grid(self):
        # B=2, h=1, w=2, K=2; same logits, labels 0 and 1.
        z = np.array([[[[1.0, 2.0], [3.0, 0.0]]]] * 2, np.float32)
        got = losses.per_location_cross_entropy(tf.constant([0, 1]), z)
        # Written out: CE = -z_y + log(e^z0 + e^z1), mean over the two cells.
        ex0 = ((-1 + math.log(math.e**1 + math.e**2)) + (-3 + math.log(math.e**3 + math.e**0))) / 2
        ex1 = ((-2 + math.log(math.e**1 + math.e**2)) + (-0 + math.log(math.e**3 + math.e**0))) / 2
        self.assertEqual(got.dtype, tf.float32)
        self.assertEqual(got.shape, (2,))
        self.assertAllClose(got, [ex0, ex1], atol=1e-6)
        self.assertAllClose(got, [0.680924, 1.680924], atol=1e-5)

    def test_half_precision_input_gives_float32(self):
        z = tf.zeros((3, 2, 2, 4), tf.float16)
        got = losses.per_location_cross_entropy(tf.constant([0, 1, 3], tf.int64), z)
        self.assertEqual(got.dtype, tf.float32)
        self.assertAllClose(got, [math.log(4.0)] * 3, atol=1e-6)

    def test_rank_error(self):
        with self.assertRaisesRegex(ValueError, "patch_logits"):
            losses.per_location_cross_entropy(tf.constant([0]), tf.zeros((1, 4, 2)))


class TopCellsTargetsTest(tf.test.TestCase):
    def _grid(self):
        # B=2, h=2, w=3, K=2. Flat index = i*3 + j.
        z = np.zeros((2, 2, 3, 2), np.float32)
        z[0, :, :, 1] = [[0.1, 0.9, 0.5], [0.7, 0.2, 0.9]]  # tie 0.9 at flat 1 and 5
        z[0, :, :, 0] = [[9.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # class 0 would pick cell 0 first
        z[1, :, :, 0] = [[0.0, 0.3, 0.2], [0.8, -1.0, 0.4]]  # max at (1, 0) -> flat 3
        return z

    def test_descending_order_with_ties_lower_index_first(self):
        got = losses.top_cells_targets(self._grid(), tf.constant([1, 0]), k=6)
        self.assertEqual(got.dtype, tf.int32)
        self.assertAllEqual(got, [[1, 5, 3, 2, 4, 0], [3, 5, 1, 2, 0, 4]])

    def test_k_prefix(self):
        got = losses.top_cells_targets(self._grid(), tf.constant([1, 0], tf.int64), k=2)
        self.assertAllEqual(got, [[1, 5], [3, 5]])

    def test_invalid_k(self):
        with self.assertRaisesRegex(ValueError, "h\\*w=6"):
            losses.top_cells_targets(self._grid(), tf.constant([1, 0]), k=7)
        with self.assertRaisesRegex(ValueError, "k=0"):
            losses.top_cells_targets(self._grid(), tf.constant([1, 0]), k=0)


class LocationPretrainingLossTest(tf.test.TestCase):
    def test_hand_computed_with_visited_cell(self):
        # B=1, T=2, N=3; at t=2 the cell visited at t=1 (cell 2) carries -1e5.
        r = np.array([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0 - 1e5]]], np.float32)
        got = losses.location_pretraining_loss(r, tf.constant([[2, 1]]))
        step1 = -(2 - math.log(1 + math.e + math.e**2))
        step2 = -(1 - math.log(1 + math.e))  # exp(2 - 1e5) underflows to 0
        self.assertEqual(got.shape, (1,))
        self.assertAllClose(got, [(step1 + step2) / 2], atol=1e-6)


class PolicyLogProbsTest(tf.test.TestCase):
    def test_equals_log_softmax_gather(self):
        rng = np.random.default_rng(0)
        r = rng.normal(size=(2, 3, 5)).astype(np.float32)
        r[0, 2, 4] -= 1e5
        cells = np.array([[4, 0, 1], [2, 2, 3]])
        got = losses.policy_log_probs(r, tf.constant(cells))
        ref = _np_log_softmax(r)
        expected = np.take_along_axis(ref, cells[..., None], axis=-1)[..., 0]
        self.assertEqual(got.shape, (2, 3))
        self.assertAllClose(got, expected, atol=1e-5)


class RewardAndBaselineTest(tf.test.TestCase):
    def test_correct_prediction_reward(self):
        logits = tf.constant([[0.1, 0.9], [2.0, 1.0], [0.0, 3.0], [1.0, 1.0]])
        got = rewards.correct_prediction_reward(logits, tf.constant([1, 1, 0, 0], tf.int64))
        self.assertEqual(got.dtype, tf.float32)
        self.assertAllEqual(got, [1.0, 0.0, 0.0, 1.0])  # tie -> lowest class
        self.assertIs(losses.correct_prediction_reward, rewards.correct_prediction_reward)

    def test_global_batch_mean_without_strategy(self):
        self.assertAllClose(rewards.global_batch_mean(tf.constant([1.0, 0.0, 0.0, 1.0, 1.0])), 0.6)
        self.assertAllClose(rewards.global_batch_mean(tf.constant([1, 2], tf.int32)), 1.5)

    @pytest.mark.slow
    def test_global_batch_mean_under_two_replica_mirrored_strategy(self):
        # A fresh process: logical devices must be configured before TF initialises them.
        script = textwrap.dedent(
            """
            import json
            import tensorflow as tf
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
            from saccader_tf.training.rewards import global_batch_mean
            strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            local = [[1.0, 2.0, 3.0], [10.0]]
            values = strategy.experimental_distribute_values_from_function(
                lambda ctx: tf.constant(local[ctx.replica_id_in_sync_group]))
            eager = strategy.run(global_batch_mean, args=(values,))
            graph = tf.function(lambda v: strategy.run(global_batch_mean, args=(v,)))(values)
            with strategy.scope():
                cross_replica = global_batch_mean(tf.constant([4.0, 6.0]))
            out = {
                "replicas": strategy.num_replicas_in_sync,
                "eager": [float(x) for x in strategy.experimental_local_results(eager)],
                "graph": [float(x) for x in strategy.experimental_local_results(graph)],
                "cross_replica": float(cross_replica),
            }
            print("RESULT " + json.dumps(out))
            """
        )
        env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        self.assertEqual(proc.returncode, 0, msg=proc.stderr[-3000:])
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        out = json.loads(line[len("RESULT ") :])
        self.assertEqual(out["replicas"], 2)
        # Global mean of [1, 2, 3, 10] = 4 (not the mean of per-replica means, (2 + 10) / 2 = 6).
        self.assertAllClose(out["eager"], [4.0, 4.0])
        self.assertAllClose(out["graph"], [4.0, 4.0])
        self.assertAllClose(out["cross_replica"], 5.0)


class ReinforceLossTest(tf.test.TestCase):
    def test_hand_computed(self):
        log_probs = tf.constant([[-1.0, -2.0], [-0.5, -0.5]])
        got = losses.reinforce_loss(log_probs, tf.constant([1.0, 0.0]), 0.25)
        # A = [0.75, -0.25]; L = -A * mean_t log pi = [0.75 * 1.5, -0.25 * 0.5].
        self.assertEqual(got.shape, (2,))
        self.assertAllClose(got, [1.125, -0.125])

    def test_gradient_step_follows_the_advantage(self):
        rng = np.random.default_rng(1)
        r0 = rng.normal(size=(2, 2, 4)).astype(np.float32)
        cells = np.array([[2, 0], [1, 3]])
        logits = tf.Variable(r0)
        reward = tf.constant([1.0, 0.0])  # baseline 0.5 -> A = [+0.5, -0.5]
        with tf.GradientTape() as tape:
            log_probs = losses.policy_log_probs(logits, tf.constant(cells))
            loss = tf.reduce_mean(
                losses.reinforce_loss(log_probs, reward, rewards.global_batch_mean(reward))
            )
        grad = tape.gradient(loss, logits).numpy()
        # d loss / d R^t_b = -A_b (onehot(l) - softmax(R)) / (T * B), written independently.
        onehot = np.eye(4)[cells]
        probs = np.exp(_np_log_softmax(r0))
        advantage = np.array([0.5, -0.5])[:, None, None]
        self.assertAllClose(grad, -advantage * (onehot - probs) / 4.0, atol=1e-6)
        before = np.take_along_axis(_np_log_softmax(r0), cells[..., None], -1)[..., 0]
        stepped = r0 - 0.1 * grad
        after = np.take_along_axis(_np_log_softmax(stepped), cells[..., None], -1)[..., 0]
        self.assertTrue(np.all(after[0] > before[0]), msg=(before, after))  # positive advantage
        self.assertTrue(np.all(after[1] < before[1]), msg=(before, after))  # negative advantage

    def test_equal_rewards_give_zero_loss_and_gradient(self):
        logits = tf.Variable(np.random.default_rng(2).normal(size=(3, 2, 5)).astype(np.float32))
        for value in (1.0, 0.0):
            reward = tf.Variable([value] * 3)
            with tf.GradientTape(persistent=True) as tape:
                log_probs = losses.policy_log_probs(logits, tf.constant([[0, 1], [2, 3], [4, 0]]))
                baseline = rewards.global_batch_mean(reward)
                loss = losses.reinforce_loss(log_probs, reward, baseline)
            self.assertAllEqual(loss, [0.0, 0.0, 0.0])
            self.assertAllEqual(tape.gradient(loss, logits), tf.zeros_like(logits))
            self.assertIsNone(tape.gradient(loss, reward))  # the advantage is stop-gradient
            del tape


class GlimpseCrossEntropyTest(tf.test.TestCase):
    def test_hand_computed(self):
        y = np.array([[[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]], [[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]])
        got = losses.glimpse_cross_entropy(tf.constant([0, 2]), y.astype(np.float32))
        ex0 = ((-1 + math.log(math.e + 2)) + (-0 + math.log(1 + math.e**2 + math.e))) / 2
        ex1 = (math.log(3.0) + (-0 + math.log(math.e**5 + 2))) / 2
        self.assertEqual(got.shape, (2,))
        self.assertAllClose(got, [ex0, ex1], atol=1e-5)


class WeightDecayTest(tf.test.TestCase):
    def test_l2_penalty_value_and_gradient(self):
        w1 = keras.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), name="kernel")
        w2 = keras.Variable(np.array([1.0, -1.0], np.float32), name="w")
        with tf.GradientTape() as tape:
            penalty = losses.l2_penalty([w1, w2], 0.1)
        # 0.1 * (30 + 2) / 2
        self.assertAllClose(penalty, 1.6)
        grads = tape.gradient(penalty, [w1, w2])
        self.assertAllClose(grads[0], 0.1 * w1.numpy())
        self.assertAllClose(grads[1], 0.1 * w2.numpy())
        self.assertAllClose(losses.l2_penalty([], 0.1), 0.0)
        with self.assertRaisesRegex(ValueError, "weight_decay=-1"):
            losses.l2_penalty([w1], -1.0)

    def test_decayed_variables_keeps_kernels_and_cell_vector(self):
        dense = keras.layers.Dense(3, name="dense_a")
        dense.build((None, 2))
        norm = keras.layers.BatchNormalization(name="bn_a")
        norm.build((None, 3))
        conv = keras.layers.Conv2D(2, 3, name="conv_a")
        conv.build((None, 5, 5, 1))
        frozen = keras.layers.Dense(2, name="frozen_a")
        frozen.build((None, 2))
        frozen.trainable = False
        cell_w = keras.Variable(np.zeros(4, np.float32), name="w")
        lone_bias = keras.Variable(np.zeros(4, np.float32), name="bias")
        everything = dense.weights + norm.weights + conv.weights + frozen.weights
        kept = losses.decayed_variables(everything + [cell_w, lone_bias])
        self.assertEqual([losses._variable_name(v) for v in kept], ["kernel", "kernel", "w"])
        self.assertIs(kept[0], dense.kernel)
        self.assertIs(kept[1], conv.kernel)
        self.assertIs(kept[2], cell_w)


if __name__ == "__main__":
    tf.test.main()
