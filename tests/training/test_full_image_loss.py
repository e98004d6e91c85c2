"""Stage 3's optional full-image term: off it changes nothing, on it trains cells no glimpse
used."""

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models.saccader.policies import make_policy
from saccader_tf.models.saccader.policies.standard import LearnedPolicy
from saccader_tf.training import PolicyGradientTrainer
from saccader_tf.training.losses import (
    correct_prediction_reward,
    glimpse_cross_entropy,
    global_batch_mean,
    policy_log_probs,
    reinforce_loss,
)
from tests.support.trainer_fixtures import data as _data
from tests.support.trainer_fixtures import labels_with_three_correct as _labels_with_three_correct
from tests.support.trainer_fixtures import model as _model


def _gradients(loss_fn, model):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return loss, tape.gradient(loss, model.trainable_variables)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


class FullImageLossTest(tf.test.TestCase):
    def _greedy_model_and_batch(self):
        model, (images, _) = _model(seed=1), _data(seed=1)
        model.policy = LearnedPolicy(
            model.cell, sample=False
        )  # deterministic: steps can be recomputed
        predictions = np.argmax(model(images, training=True)["logits"].numpy(), axis=-1)
        return model, images, _labels_with_three_correct(predictions)

    def test_weight_zero_is_the_papers_step_and_weight_mu_adds_mu_times_stage1_loss(self):
        model, images, labels = self._greedy_model_and_batch()
        decay = 1e-3
        off = PolicyGradientTrainer(model, weight_decay=decay, full_image_loss_weight=0.0)

        def papers_loss():  # the paper's stage-3 loss, term by term, from the library's losses
            out = model(images, training=True)
            rewards = correct_prediction_reward(out["logits"], labels)
            reinforce = reinforce_loss(
                policy_log_probs(out["location_logits"], out["cells"]),
                rewards,
                global_batch_mean(rewards),
            )
            per_example = reinforce + glimpse_cross_entropy(labels, out["glimpse_logits"])
            return tf.nn.compute_average_loss(per_example) + off.weight_decay_penalty()

        expected_loss, expected = _gradients(papers_loss, model)
        loss, grads = _gradients(
            lambda: off.compute_losses(images, labels, training=True)[0], model
        )
        self.assertAllClose(loss, expected_loss, rtol=0, atol=1e-7)
        for variable, got, want in zip(model.trainable_variables, grads, expected):
            self.assertEqual(got is None, want is None, variable.path)
            if want is not None:
                self.assertAllClose(got, want, rtol=1e-6, atol=1e-9, msg=variable.path)

        mu = 0.5
        on = PolicyGradientTrainer(model, weight_decay=decay, full_image_loss_weight=mu)
        loss_on, logs = on.compute_losses(images, labels, training=True)
        z = model(images, training=True)["patch_logits"].numpy().astype("float64")  # [B, h, w, K]
        picked = np.take_along_axis(_log_softmax(z), labels[:, None, None, None].astype(int), -1)
        stage1_loss = -picked.mean()
        self.assertAllClose(logs["full_image_ce"], stage1_loss, atol=1e-5)
        self.assertAllClose(loss_on - loss, mu * stage1_loss, atol=1e-5)
        self.assertAllClose(
            off.compute_losses(images, labels, training=True)[1]["full_image_ce"],
            stage1_loss,
            atol=1e-5,
        )  # logged with the term off too

    def test_weight_above_zero_trains_the_bagnet_on_pixels_no_glimpse_saw(self):
        """The stem kernel's gradient is Σ pixel·δ: with the glimpse's pixels all zero it is exactly
        0 unless the full-image term reaches the cells no glimpse used."""
        model, (images, labels) = _model(seed=2), _data(seed=2)
        model.policy = make_policy("center")  # a fixed glimpse; its location logits have no weights
        model.num_glimpses = 1
        for layer in model.representation._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = (
                    False  # inference statistics: a cell reads only its receptive field
                )
        box = model.boxes(tf.constant([[5]]))[
            0, 0
        ].numpy()  # the 4x4 grid's centre policy picks cell 5
        self.assertAllEqual(model(images, training=True)["cells"], np.full([8, 1], 5))
        images[:, box[0] : box[2], box[1] : box[3]] = 0.0
        self.assertGreater(np.abs(images).sum(), 0)  # pixels outside the glimpse's box remain
        stem = [v for v in model.trainable_variables if v.path.endswith("stem_conv3x3/kernel")]
        self.assertLen(stem, 1)

        def stem_gradient(weight):
            trainer = PolicyGradientTrainer(model, full_image_loss_weight=weight)
            loss = lambda: trainer.compute_losses(images, labels, training=True)[0]  # noqa: E731
            with tf.GradientTape() as tape:
                value = loss()
            return tape.gradient(value, stem[0])

        off = stem_gradient(0.0)
        self.assertTrue(off is None or not np.any(off.numpy()), "the glimpse saw only zeros")
        on = stem_gradient(0.5)
        self.assertGreater(float(tf.reduce_max(tf.abs(on))), 1e-6)

    def test_negative_weight_is_refused(self):
        with self.assertRaisesRegex(ValueError, "Received: full_image_loss_weight=-1"):
            PolicyGradientTrainer(_model(), full_image_loss_weight=-1)


if __name__ == "__main__":
    tf.test.main()
