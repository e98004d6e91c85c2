"""The cell's T steps computed at once (stages 2, 3) give the step-by-step losses and gradients."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models.saccader.cell import VISITED_PENALTY, SaccaderCell, visited_before
from saccader_tf.models.saccader.policies.standard import LearnedPolicy
from saccader_tf.training.location_pretrainer import LocationPretrainer
from saccader_tf.training.losses import location_pretraining_loss
from saccader_tf.training.policy_gradient_trainer import PolicyGradientTrainer
from tests.support import trainer_fixtures

CELLS, DEPTH = 16, 8


class StepwisePolicy(LearnedPolicy):
    """The learned policy without the all-steps recomputation: the unroll keeps each step's
    logits (the step-by-step path, the reference)."""

    location_logits_of = None


def _numpy_logits(mixed, w, visited):
    """The cell's R for one mask, in float64 NumPy (the class docstring's formulas)."""
    mixed, visited = mixed.astype("float64"), visited.astype("float64")
    a = mixed @ w / np.sqrt(mixed.shape[-1]) - VISITED_PENALTY * visited
    alpha = np.exp(a - a.max(-1, keepdims=True))
    alpha /= alpha.sum(-1, keepdims=True)
    s = np.einsum("bn,bnd->bd", alpha, mixed)
    beta = np.exp(s - s.max(-1, keepdims=True))
    beta /= beta.sum(-1, keepdims=True)
    return np.einsum("bnd,bd->bn", mixed, beta) - VISITED_PENALTY * visited


def _stepwise(cell, mixed, cells):
    """R^t step by step with `cell.location_logits` (the former teacher-forcing loop)."""
    visited, steps = tf.zeros_like(mixed[:, :, 0]), []
    for t in range(cells.shape[1]):
        steps.append(cell.location_logits(mixed, visited))
        visited = visited + tf.one_hot(cells[:, t], CELLS)
    return tf.stack(steps, axis=1)


class MaskedLogitsTest(tf.test.TestCase):
    def setUp(self):
        rng = np.random.default_rng(3)
        self.mixed = tf.constant(rng.normal(size=(4, CELLS, DEPTH)).astype("float32"))
        self.cells = tf.constant(
            np.stack([rng.permutation(CELLS)[:5] for _ in range(4)]).astype("int32")
        )
        self.cell = SaccaderCell(seed=0)
        self.cell.build((None, CELLS, DEPTH), (None, CELLS))

    def test_visited_before_is_the_exclusive_running_mask(self):
        masks = visited_before(self.cells, CELLS).numpy()
        for b in range(4):
            for t in range(5):
                self.assertCountEqual(np.flatnonzero(masks[b, t]), self.cells[b, :t].numpy())

    def test_values_match_numpy_for_every_step(self):
        visited = visited_before(self.cells, CELLS)
        got = self.cell.masked_location_logits(self.mixed, visited).numpy()
        w = self.cell.w.numpy().astype("float64")
        for t in range(5):
            want = _numpy_logits(self.mixed.numpy(), w, visited[:, t].numpy())
            self.assertAllClose(got[:, t], want, rtol=1e-5, atol=1e-3)  # atol: the -1e5 entries
            self.assertAllClose(got[:, t] > -1e4, want > -1e4)

    def test_loss_and_gradients_match_the_step_by_step_loop(self):
        def loss_and_grads(fn):
            with tf.GradientTape() as tape:
                tape.watch(self.mixed)
                loss = tf.reduce_mean(location_pretraining_loss(fn(), self.cells))
            return [loss] + tape.gradient(loss, [self.mixed, self.cell.w])

        visited = visited_before(self.cells, CELLS)
        new = loss_and_grads(lambda: self.cell.masked_location_logits(self.mixed, visited))
        old = loss_and_grads(lambda: _stepwise(self.cell, self.mixed, self.cells))
        for a, b in zip(new, old):
            self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)
        self.assertGreater(float(tf.reduce_max(tf.abs(new[2]))), 1e-4)  # not a vacuous gradient


def _grads(trainer, images, labels):
    grads, logs = trainer._gradients(tf.constant(images), tf.constant(labels))
    return [g.numpy() for g in grads], {k: float(v) for k, v in logs.items()}


class StageStepsTest(tf.test.TestCase):
    """Stage 2 and 3 losses and gradients on a fixed batch: the new path against the old."""

    def assert_same(self, new, old):
        (new_grads, new_logs), (old_grads, old_logs) = new, old
        self.assertEqual(set(new_logs), set(old_logs))
        for key in new_logs:
            self.assertAllClose(new_logs[key], old_logs[key], rtol=1e-5, atol=1e-6, msg=key)
        self.assertEqual(len(new_grads), len(old_grads))
        for a, b in zip(new_grads, old_grads):
            self.assertAllClose(a, b, rtol=1e-4, atol=1e-6)

    def test_stage2_matches_the_stepwise_teacher_forcing(self):
        model = trainer_fixtures.model(seed=1)
        images, labels = trainer_fixtures.data(seed=1)
        trainer = LocationPretrainer(model, num_targets=6, weight_decay=1e-3)
        trainer.compile(keras.optimizers.SGD(0.1))
        new = _grads(trainer, images, labels)
        stepwise = lambda mixed, targets: _stepwise(model.cell, mixed, targets)  # noqa: E731
        model.teacher_forced_location_logits = stepwise
        self.assert_same(new, _grads(trainer, images, labels))

    def test_stage3_matches_the_stepwise_unroll_with_the_same_draws(self):
        model = trainer_fixtures.model(seed=2)
        images, labels = trainer_fixtures.data(seed=2)
        trainer = PolicyGradientTrainer(model, weight_decay=1e-3)
        trainer.compile(keras.optimizers.SGD(0.1))
        state = model.cell.seed_generator.state.numpy()
        new = _grads(trainer, images, labels)
        model.cell.seed_generator.state.assign(state)  # the same samples again
        model.policy = StepwisePolicy(model.cell)
        old = _grads(trainer, images, labels)
        self.assert_same(new, old)
        self.assertGreater(abs(new[1]["reinforce"]), 1e-6)
