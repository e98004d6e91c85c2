"""Tests of the Saccader cell (one glimpse step)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from saccader_tf.models.saccader import cell as saccader_cell
from saccader_tf.models.saccader.cell import SaccaderCell, sample_categorical
from tests.support.paths import REPO_ROOT


def _features(shape, scale=1.0, seed=0):
    return (scale * np.random.default_rng(seed).normal(size=shape)).astype("float32")


def _unroll(cell, features, steps, training):
    """Runs `steps` cell steps from an empty mask; returns cells [B, steps] and masks
    [steps, B, N]."""
    batch, cells = features.shape[0], int(np.prod(features.shape[1:-1]))
    visited = tf.zeros((batch, cells))
    chosen, masks = [], []
    for _ in range(steps):
        out = cell(features, visited, training=training)
        visited = out["visited"]
        chosen.append(out["cell"].numpy())
        masks.append(visited.numpy())
    return np.stack(chosen, axis=1), np.stack(masks)


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


class HandComputedStepTest(tf.test.TestCase):
    """2x2 grid, D = 3, fixed w and M, cell 2 = (1, 0) visited."""

    M = np.array(
        [[[[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], [[3.0, 1.0, 1.0], [-2.0, 0.75, 0.5]]]], "float32"
    )
    W = np.array([0.8, -1.2, 0.3], "float32")
    VISITED = np.array([[0.0, 0.0, 1.0, 0.0]], "float32")

    def _expected(self):
        m = self.M.reshape(4, 3).astype(np.float64)
        w = self.W.astype(np.float64)
        c = self.VISITED[0].astype(np.float64)
        a = np.array([np.dot(m[n], w) / np.sqrt(3.0) for n in range(4)]) - 1e5 * c
        alpha = _softmax(a)
        summary = sum(alpha[n] * m[n] for n in range(4))
        beta = _softmax(summary)
        r = np.array([np.dot(beta, m[n]) for n in range(4)]) - 1e5 * c
        return alpha, beta, r

    def _cell(self):
        cell = SaccaderCell(seed=0)
        cell.build(self.M.shape, self.VISITED.shape)
        cell.w.assign(self.W)
        return cell

    def test_maps_match_numpy(self):
        alpha, beta, r = self._expected()
        maps = self._cell().step_maps(self.M, self.VISITED)
        self.assertAllClose(maps["spatial_weights"][0], alpha, atol=1e-6, rtol=0)
        self.assertAllClose(maps["channel_weights"][0], beta, atol=1e-6, rtol=0)
        logits = maps["location_logits"][0].numpy()
        unvisited = [0, 1, 3]
        self.assertAllClose(logits[unvisited], r[unvisited], atol=1e-6, rtol=0)
        # float32 resolution at 1e5 is ~0.008: compare the visited logit relatively.
        self.assertAllClose(logits[2], r[2], rtol=1e-6, atol=0)
        self.assertEqual(alpha[2], 0.0)

    def test_call_matches_numpy(self):
        _, _, r = self._expected()
        out = self._cell()(self.M, self.VISITED, training=False)
        probs = np.exp(r - r.max()) / np.exp(r - r.max()).sum()
        self.assertAllClose(out["probabilities"][0], probs, atol=1e-6, rtol=0)
        self.assertEqual(int(out["cell"][0]), int(np.argmax(r)))
        expected_visited = self.VISITED[0].copy()
        expected_visited[np.argmax(r)] += 1
        self.assertAllEqual(out["visited"][0], expected_visited)

    def test_flat_features_give_the_same_logits(self):
        cell = self._cell()
        grid = cell.location_logits(self.M, self.VISITED)
        flat = cell.location_logits(self.M.reshape(1, 4, 3), self.VISITED)
        self.assertAllEqual(grid, flat)

    def test_visited_penalty_constant(self):
        self.assertEqual(saccader_cell.VISITED_PENALTY, 1e5)


class CellPropertiesTest(tf.test.TestCase):
    def test_low_precision_policies_compute_in_float32(self):
        features, visited = _features((2, 3, 3, 4), scale=100.0), np.zeros((2, 9), "float32")
        visited[:, 0] = 1.0
        reference = SaccaderCell()
        out32 = reference(features, visited)
        for policy in ("float16", "mixed_bfloat16"):
            cell = SaccaderCell(dtype=policy)
            cell(features, visited)
            cell.set_weights(reference.get_weights())
            out = cell(features, visited)
            for key in ("location_logits", "probabilities", "visited"):
                self.assertEqual(out[key].dtype, tf.float32, f"{policy} {key}")
                self.assertTrue(np.all(np.isfinite(out[key].numpy())), f"{policy} {key}")
            self.assertAllEqual(out["probabilities"][:, 0], [0.0, 0.0])
            self.assertEqual(out["cell"].dtype, tf.int32)
            if policy == "mixed_bfloat16":  # float32 weight and float32 maths on bf16-rounded M.
                self.assertAllClose(out["probabilities"], out32["probabilities"], atol=0.05)

    def test_probabilities_sum_to_one_and_visited_are_zero(self):
        features = _features((3, 4, 4, 5))
        visited = np.zeros((3, 16), "float32")
        visited[0, [1, 5, 7]] = 1.0
        visited[1, 15] = 1.0
        for training in (False, True):
            out = SaccaderCell(seed=2)(features, visited, training=training)
            probs = out["probabilities"].numpy()
            self.assertAllClose(probs.sum(axis=-1), np.ones(3), atol=1e-6)
            self.assertTrue(np.all(probs[visited == 1.0] == 0.0))
            self.assertTrue(np.all(visited[np.arange(3), out["cell"].numpy()] == 0.0))

    def test_unrolling_visits_every_cell_once(self):
        features = _features((4, 3, 3, 6), seed=3)
        for training in (True, False):
            cells, masks = _unroll(SaccaderCell(seed=5), features, 9, training)
            for t in range(9):
                self.assertAllEqual(masks[t].sum(axis=-1), np.full(4, t + 1.0))
                self.assertEqual(masks[t].max(), 1.0)
            for row in cells:
                self.assertCountEqual(row.tolist(), list(range(9)))

    def test_inference_is_deterministic_argmax(self):
        features, visited = _features((3, 4, 4, 5), seed=4), np.zeros((3, 16), "float32")
        cell = SaccaderCell(seed=0)
        first = cell(features, visited)
        second = cell(features, visited, training=False)
        self.assertAllEqual(first["cell"], second["cell"])
        self.assertAllEqual(first["cell"], np.argmax(first["location_logits"].numpy(), axis=-1))

    def test_fixed_seed_reproduces_and_seeds_differ(self):
        features = _features((8, 8, 8, 4), scale=1e-3, seed=6)  # near-uniform R over 64 cells.
        runs = {}
        for name, seed in (("a", 3), ("b", 3), ("c", 4)):
            cell = SaccaderCell(seed=seed)
            cell(features, np.zeros((8, 64), "float32"))
            cell.w.assign(np.full(4, 0.5, "float32"))
            runs[name] = _unroll(cell, features, 4, training=True)[0]
        self.assertAllEqual(runs["a"], runs["b"])
        self.assertFalse(np.array_equal(runs["a"], runs["c"]))
        # Successive steps of one cell also draw fresh samples (the generator advances).
        self.assertGreater(len(np.unique(runs["a"])), 8)

    def test_invalid_arguments(self):
        with self.assertRaisesRegex(ValueError, "Received: seed='1'"):
            SaccaderCell(seed="1")
        with self.assertRaisesRegex(ValueError, r"Received: visited_shape=\(2, 8\)"):
            SaccaderCell()(_features((2, 3, 3, 4)), np.zeros((2, 8), "float32"))


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from saccader_tf.models.saccader.cell import SaccaderCell, sample_categorical

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    features = tf.constant(rng.normal(scale=1e-3, size=(8, 8, 8, 4)).astype("float32"))
    visited = tf.zeros((8, 64))
    with strategy.scope():
        cell = SaccaderCell(seed=7)
        cell(features, visited)

    def sample(f, v):
        return cell(f, v, training=True)["cell"]

    cells = strategy.run(sample, args=(features, visited))
    print(json.dumps([t.numpy().tolist() for t in strategy.experimental_local_results(cells)]))
    """
)


@pytest.mark.slow
class SampleCategoricalTest(tf.test.TestCase):
    def test_same_draws_as_tfp_categorical(self):
        """`sample_categorical` draws what tfp's `Categorical.sample` draws for the same seed."""
        logits = tf.random.stateless_normal((6, 49), seed=(5, 6))
        for seed in ((3, 9), (0, 1), (7, 123)):
            seed = tf.constant(seed, tf.int32)
            expected = tfp.distributions.Categorical(logits=logits, dtype=tf.int32).sample(
                seed=seed
            )
            self.assertAllEqual(sample_categorical(logits, seed), expected)


class MirroredSamplingTest(tf.test.TestCase):
    def test_replicas_sample_different_cells(self):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
        result = subprocess.run(
            [sys.executable, "-c", MIRRORED_SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
            env=env,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        per_replica = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertLen(per_replica, 2)
        self.assertLen(per_replica[0], 8)
        self.assertNotEqual(per_replica[0], per_replica[1])


if __name__ == "__main__":
    tf.test.main()
