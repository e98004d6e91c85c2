"""Stage trainers: which weights each stage moves, distributed equivalence, the stage-3 loss,
stage 2.

Every trainer is compiled with `jit_compile=False` and plain SGD (no momentum), so one step is
`w ← w − lr·g` and variables without a gradient stay bit-identical.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.models.saccader.policies.standard import LearnedPolicy
from saccader_tf.training import LocationPretrainer, PolicyGradientTrainer, RepresentationTrainer
from tests.support.script_runs import run_result_script
from tests.support.trainer_fixtures import data as _data
from tests.support.trainer_fixtures import labels_with_three_correct as _labels_with_three_correct
from tests.support.trainer_fixtures import model as _model

CELLS = 16  # bagnet9_tiny at 24 px: a 4x4 grid
LR = 0.1


def _compile(trainer, optimizer=None):
    trainer.compile(optimizer=optimizer or keras.optimizers.SGD(LR), jit_compile=False)
    return trainer


def _snapshot(model):
    weights = {w.path: w.numpy().copy() for w in model.weights}
    assert len(weights) == len(model.weights), "variable paths must be unique to compare by path"
    return weights


def _paths(variables):
    return {v.path for v in variables}


class StageIsolationTest(tf.test.TestCase):
    """One `fit` step changes exactly the variables of its stage; every other weight is
    bit-identical."""

    def _gradients(self, trainer, model, images, labels):
        """Per-path gradient of the total loss (eager), then every weight restored (BN
        stats too)."""
        before = _snapshot(model)
        with tf.GradientTape() as tape:
            loss, _ = trainer.compute_losses(images, labels, training=True)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        for w in model.weights:
            w.assign(before[w.path])
        return {v.path: (None if g is None else g.numpy()) for v, g in zip(variables, grads)}

    def _step(self, trainer, model, images, labels):
        before = _snapshot(model)
        trainer.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
        after = _snapshot(model)
        changed = {p for p in before if not np.array_equal(before[p], after[p])}
        return before, after, changed

    def _assert_sgd_step(self, before, after, grads, changed):
        """Variables with a non-zero gradient moved by exactly −lr·g; the others did not move."""
        with_grad = {p for p, g in grads.items() if g is not None and np.any(g != 0)}
        for path in with_grad:
            self.assertIn(path, changed)
            self.assertAllClose(after[path], before[path] - LR * grads[path], atol=1e-6, msg=path)
        for path in set(grads) - with_grad:
            self.assertNotIn(path, changed)
        return with_grad

    def test_stage1_trains_only_the_representation(self):
        model, (images, labels) = _model(), _data()
        trainer = _compile(RepresentationTrainer(model, weight_decay=1e-3))
        grads = self._gradients(trainer, model, images, labels)
        before, after, changed = self._step(trainer, model, images, labels)

        rep = model.representation
        rep_trainable = _paths(rep.trainable_variables)
        rep_moving = _paths(rep.non_trainable_variables)
        with_grad = self._assert_sgd_step(before, after, grads, changed)
        self.assertEqual(with_grad - rep_trainable, set())  # no gradient leaves the BagNet
        self.assertIn("patch_logits/kernel", with_grad)
        self.assertIn("patch_logits/bias", with_grad)
        self.assertIn("stem_conv3x3/kernel", with_grad)
        # Zero-initialised bn3 gammas legitimately block some gradients at init; most still flow.
        self.assertGreater(len(with_grad), len(rep_trainable) // 2)
        self.assertTrue(
            rep_moving and rep_moving <= changed, rep_moving - changed
        )  # BN statistics moved
        self.assertEqual(changed, with_grad | rep_moving)
        for module in (model.attention_network, model.mixer, model.cell):
            for w in module.weights:
                self.assertAllEqual(after[w.path], before[w.path], msg=w.path)

    def test_stage2_freezes_the_representation(self):
        model, (images, labels) = _model(), _data()
        trainer = _compile(LocationPretrainer(model, num_targets=6, weight_decay=1e-3))
        grads = self._gradients(trainer, model, images, labels)
        before, after, changed = self._step(trainer, model, images, labels)

        for w in model.representation.weights:  # trainable AND moving statistics
            self.assertAllEqual(after[w.path], before[w.path], msg=w.path)
            self.assertIsNone(grads.get(w.path), msg=w.path)
        with_grad = self._assert_sgd_step(before, after, grads, changed)
        expected = {"saccader/cell/w", "saccader/mixer/mix/kernel"} | {
            f"saccader/attention_network/conv{i}/kernel" for i in range(4)
        }
        self.assertEqual(expected - changed, set())
        self.assertEqual(expected - with_grad, set())
        location = _paths(model.location_variables)
        attention_moving = _paths(model.attention_network.non_trainable_variables)
        self.assertEqual(changed, with_grad | attention_moving)
        self.assertLessEqual(with_grad, location)

    def test_stage3_trains_the_whole_model(self):
        model, (images, labels) = _model(), _data()
        trainer = _compile(PolicyGradientTrainer(model, weight_decay=1e-3))
        before, after, changed = self._step(trainer, model, images, labels)
        expected = {
            "saccader/cell/w",
            "saccader/mixer/mix/kernel",
            "patch_logits/kernel",
            "patch_logits/bias",
            "stem_conv3x3/kernel",
            "saccader/attention_network/conv0/kernel",
        }
        self.assertEqual(expected - changed, set())
        self.assertLessEqual(_paths(model.representation.non_trainable_variables), changed)
        self.assertEqual(set(before), _paths(model.weights))


# Runs in a fresh interpreter: the 2 logical CPUs must exist before TensorFlow initialises.
_MIRRORED_SCRIPT = r"""
import contextlib, json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
from saccader_tf.training import LocationPretrainer, PolicyGradientTrainer, RepresentationTrainer
from tests.support.comparable_models import greedy_saccader as make_model
from tests.support.trainer_fixtures import labels_with_three_correct


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
keras.utils.set_random_seed(0)
with strategy.scope():
    mirrored = make_model()
single = make_model()
initial = mirrored.get_weights()

rng = np.random.default_rng(0)
images = rng.normal(size=(8, 24, 24, 1)).astype("float32")
single.set_weights(initial)
predictions = np.argmax(single(images, training=True)["logits"].numpy(), axis=-1)
labels = labels_with_three_correct(predictions)
rewards = (np.argmax(single(images, training=True)["logits"].numpy(), -1) == labels).astype(float)
assert rewards.sum() == 3 and len(set(rewards)) == 2, rewards

stages = {
    "stage1": lambda m: RepresentationTrainer(m, weight_decay=1e-2),
    "stage2": lambda m: LocationPretrainer(m, num_targets=6, weight_decay=1e-2),
    "stage3": lambda m: PolicyGradientTrainer(m, weight_decay=1e-2),
}
report = {"rewards": rewards.tolist()}
for stage, make_trainer in stages.items():
    results = []
    for model, scope in ((single, contextlib.nullcontext()), (mirrored, strategy.scope())):
        model.set_weights(initial)
        with scope:
            trainer = make_trainer(model)
            trainer.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
        trainer.fit(images, labels, batch_size=8, steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
        results.append([w.numpy() for w in model.weights])
    report[stage] = {
        "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(*results)),
        "max_update": max(float(np.max(np.abs(a - b))) for a, b in zip(results[0], initial)),
    }
print("RESULT " + json.dumps(report))
"""  # noqa: E501 (a script run in a subprocess)


@pytest.mark.slow
class MirroredEquivalenceTest(tf.test.TestCase):
    """One step on 2 replicas equals one step on one device for the same global batch.

    A subprocess splits the CPU into 2 logical devices, runs one `fit` step (global batch 8, SGD
    0.1, weight decay 1e-2) of each stage under `MirroredStrategy` and on one device from identical
    weights, and reports the largest weight difference. This checks the loss scaling: per-example
    losses divided by the GLOBAL batch, the decay divided by the replica count, the global-batch
    REINFORCE baseline (3 of 8 rewards are 1, so no replica's local mean equals the global one).

    Every `BatchNormalization` is made non-trainable (inference statistics) in both models: with
    batch statistics each replica normalises its 4 examples and one device its 8, a known and
    accepted difference of MirroredStrategy unrelated to the loss scaling under test. Stage 3 uses
    a greedy (argmax) version of the learned policy on both models, since sampled cells
    legitimately differ per replica (each replica folds its id into the seed).
    """

    def test_two_replicas_match_one_device(self):
        report = run_result_script(self, _MIRRORED_SCRIPT)
        for stage in ("stage1", "stage2", "stage3"):
            self.assertGreater(report[stage]["max_update"], 1e-3, stage)  # the step did something
            self.assertLess(report[stage]["max_diff"], 1e-5, f"{stage}: {report}")


class Stage3LossTest(tf.test.TestCase):
    def test_loss_matches_hand_computation(self):
        """loss = −mean_b A_b·Σ_t log π^t(l^t_b)/T + mean_b,t CE(y^t_b, y_b) + λ·Σ||w||²/2."""
        model, (images, _) = _model(seed=1), _data(seed=1)
        model.policy = LearnedPolicy(
            model.cell, sample=False
        )  # deterministic: the outputs can be recomputed
        predictions = np.argmax(model(images, training=True)["logits"].numpy(), axis=-1)
        labels = _labels_with_three_correct(predictions)
        decay = 1e-3
        trainer = PolicyGradientTrainer(
            model, weight_decay=decay, full_image_loss_weight=0.0
        )  # paper
        total, logs = trainer.compute_losses(images, labels, training=True)
        # Training-mode BN uses batch statistics, so a second call gives the same outputs.
        out = {k: v.numpy().astype("float64") for k, v in model(images, training=True).items()}

        def log_softmax(x):
            x = x - x.max(-1, keepdims=True)
            return x - np.log(np.exp(x).sum(-1, keepdims=True))

        cells = out["cells"].astype(int)
        for row in cells:
            self.assertLen(set(row), len(row))
        log_pi = np.take_along_axis(log_softmax(out["location_logits"]), cells[..., None], -1)[
            ..., 0
        ]
        rewards = (out["logits"].argmax(-1) == labels).astype("float64")
        self.assertEqual(rewards.sum(), 3)
        advantage = rewards - rewards.mean()
        reinforce = -np.mean(advantage * log_pi.mean(axis=1))
        step_labels = np.broadcast_to(labels[:, None, None], cells.shape + (1,))
        glimpse_ce = -np.mean(
            np.take_along_axis(log_softmax(out["glimpse_logits"]), step_labels, -1)
        )
        decayed = [
            w
            for w in model.trainable_variables
            if w.path.endswith("/kernel") or w.path == "saccader/cell/w"
        ]
        self.assertLen(decayed, 17)  # 11 BagNet + 4 attention + 1 mixer kernels and the cell's w
        penalty = decay * sum(0.5 * np.sum(w.numpy().astype("float64") ** 2) for w in decayed)
        expected = reinforce + glimpse_ce + penalty

        self.assertGreater(abs(reinforce), 1e-6)  # the REINFORCE term is not vacuous
        self.assertAllClose(logs["reinforce"], reinforce, rtol=1e-4, atol=1e-8)
        self.assertAllClose(logs["glimpse_ce"], glimpse_ce, atol=1e-5)
        self.assertAllClose(logs["reward"], 3 / 8)
        self.assertAllClose(logs["loss"], expected, atol=1e-5)
        self.assertAllClose(
            total, expected, atol=1e-5
        )  # one replica: the global mean is the local one


class Stage2TargetsTest(tf.test.TestCase):
    def test_trains_towards_top_cells_of_predicted_class_in_descending_order(self):
        model, (images, labels) = _model(seed=2), _data(seed=2)
        rep = model.representation(images, training=False)
        predicted = np.argmax(rep["logits"].numpy(), axis=-1)
        z = rep["patch_logits"].numpy().reshape(8, CELLS, -1)
        class_maps = z[np.arange(8), :, predicted]  # [B, N]
        targets = np.argsort(-class_maps, axis=1, kind="stable")[:, :6].astype("int32")

        def accuracies():
            """target_accuracy, first_target_accuracy against the hand-made targets (inference)."""
            context, _ = model.context(images, training=False)
            logits = model.teacher_forced_location_logits(context.mixed, tf.constant(targets))
            hits = np.argmax(logits.numpy(), axis=-1) == targets
            return hits.mean(), hits[:, 0].mean()

        trainer = _compile(LocationPretrainer(model, num_targets=6), keras.optimizers.Adam(1e-2))
        initial = accuracies()
        logs = trainer.evaluate_batch(images, labels)
        self.assertAllClose((logs["target_accuracy"], logs["first_target_accuracy"]), initial)
        history = trainer.fit(
            images, labels, batch_size=8, epochs=30, shuffle=False, verbose=0
        ).history
        final = accuracies()
        logs = trainer.evaluate_batch(images, labels)
        # The trainer's own targets are the hand-made ones: its metrics agree with ours.
        self.assertAllClose((logs["target_accuracy"], logs["first_target_accuracy"]), final)
        # The untrained cell already scores well here (its "what" input feeds Z too), so also
        # require a clear gain and a halved loss.
        self.assertGreater(final[0], initial[0])
        self.assertGreaterEqual(final[0], 0.9)
        self.assertGreater(final[1], 0.5)
        self.assertGreater(history["target_accuracy"][-1], history["target_accuracy"][0])
        self.assertLess(history["location_ce"][-1], 0.5 * history["location_ce"][0])
        # In inference the learned policy's first glimpse is then mostly the top cell.
        first = model(images, training=False, num_glimpses=1)["cells"].numpy()[:, 0]
        self.assertGreater(np.mean(first == targets[:, 0]), 0.5)


class ArgumentValidationTest(tf.test.TestCase):
    def test_invalid_num_targets(self):
        model = _model()
        for bad in (0, CELLS + 1):
            with self.assertRaisesRegex(ValueError, f"num_targets={bad}"):
                LocationPretrainer(model, num_targets=bad)
        for good in (1, CELLS):
            self.assertEqual(LocationPretrainer(model, num_targets=good).num_targets, good)

    def test_negative_weight_decay(self):
        model = _model()
        for trainer_class in (RepresentationTrainer, LocationPretrainer, PolicyGradientTrainer):
            with self.assertRaisesRegex(ValueError, "weight_decay=-0.001"):
                trainer_class(model, weight_decay=-1e-3)
