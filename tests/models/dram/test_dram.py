"""DRAM: glimpse network, multi-resolution crops, Gaussian policy, unroll, trainer, size, export
and evaluation (the shared layer checks are in tests/models/test_public_layers.py)."""

import math
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from saccader_tf.models.dram import multi_resolution_glimpse as retina
from saccader_tf.models.dram.dram import DRAM, OUTPUT_KEYS
from saccader_tf.models.dram.glimpse_network import GlimpseNetwork
from saccader_tf.models.dram.location_policy import GaussianLocationPolicy, gaussian_log_prob
from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.losses import reinforce_loss
from tests.support.comparable_models import OffsetLocationPolicy
from tests.support.script_runs import run_result_script

TINY = {"num_classes": 5, "image_size": 24, "variant": "dram_tiny", "input_channels": 1}


def _tiny(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = DRAM(**TINY, seed=seed, **kwargs)
    model.build()
    return model


def _images(batch=4, size=24, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, size, size, 1)).astype("float32")


class GlimpseNetworkTest(tf.test.TestCase):
    def test_position_channels_on_a_hand_made_image(self):
        image = np.zeros((1, 3, 5, 1), np.float32)
        channels = retina.position_channels(tf.constant(image)).numpy()[0]
        self.assertAllClose(channels[:, 0, 0], [-1.0, 0.0, 1.0])  # y down the rows
        self.assertAllClose(channels[0, :, 1], [-1.0, -0.5, 0.0, 0.5, 1.0])  # x along the columns
        self.assertAllClose(channels[:, :, 0], np.repeat([[-1.0], [0.0], [1.0]], 5, axis=1))

    def test_shapes_and_the_high_resolution_glimpse_of_a_hand_made_image(self):
        image = np.arange(12 * 12, dtype=np.float32).reshape(1, 12, 12, 1)
        images = np.concatenate([image, -image])
        net = GlimpseNetwork(image_size=12, glimpse_size=4, input_channels=1, widths=(3, 6))
        self.assertEqual(net.fields, (4, 8, 12))
        prepared = net.prepare(images)
        self.assertEqual(prepared.shape, (2, 36, 36, 3))
        # (-1, -1) is the top-left corner, (1, 1) the bottom-right one, (0, 0.5) row 4, column 6.
        locations = tf.constant([[-1.0, -1.0], [0.0, 0.5]])
        patches, corners = net.glimpses(prepared, locations)
        self.assertAllEqual(corners, [[0, 0], [4, 6]])
        self.assertLen(patches, 3)
        for patch in patches:
            self.assertEqual(patch.shape, (2, 4, 4, 3))
        self.assertAllEqual(patches[0][0, ..., 0], image[0, 0:4, 0:4, 0])
        self.assertAllEqual(patches[0][1, ..., 0], -image[0, 4:8, 6:10, 0])
        position = np.linspace(-1, 1, 12)
        self.assertAllClose(patches[0][1, :, 0, 1], position[4:8])  # y channel of the glimpse
        self.assertAllClose(patches[0][1, 0, :, 2], position[6:10])  # x channel
        self.assertEqual(net(images, locations).shape, (2, 6))
        corners = retina.glimpse_corners(tf.constant([[1.0, 1.0]]), 12, 4)
        self.assertAllEqual(corners, [[8, 8]])
        self.assertAllEqual(retina.corner_cells(corners, 12, 4), [8 * 9 + 8])

    def test_paper_fields_of_view(self):
        self.assertEqual(retina.fields_of_view(224, 77, 3), (77, 150, 224))
        self.assertEqual(retina.fields_of_view(60, 29, 3), (29, 44, 60))

    def test_crops_equal_direct_slicing_and_resize(self):
        size, g = 20, 6
        rng = np.random.default_rng(1)
        images = rng.normal(size=(3, size, size, 2)).astype(np.float32)
        locations = np.array([[-0.3, 0.8], [1.0, -1.0], [0.1, 0.0]], np.float32)
        fields = retina.fields_of_view(size, g, 3)
        corners = retina.glimpse_corners(locations, size, g).numpy()
        patches = retina.multi_resolution_glimpses(
            retina.pad_for_glimpses(images), corners, fields, g, size
        )
        padded = np.pad(images, [(0, 0), (size, size), (size, size), (0, 0)])
        for field, patch in zip(fields, patches):
            for b in range(3):
                top, left = corners[b] + (g - field) // 2 + size
                expected = padded[b : b + 1, top : top + field, left : left + field]
                expected = tf.image.resize(expected, [g, g], method="bilinear").numpy()
                self.assertAllClose(patch[b : b + 1], expected, atol=1e-6)

    def test_switched_off_resolution_is_its_spatial_mean(self):
        glimpses = [tf.random.normal((2, 4, 4, 3), seed=1), tf.random.normal((2, 4, 4, 3), seed=2)]
        stacked = retina.mask_resolutions(glimpses, (True, False)).numpy()
        self.assertAllClose(stacked[..., :3], glimpses[0])
        mean = tf.reduce_mean(glimpses[1], axis=[1, 2]).numpy()
        self.assertAllClose(stacked[..., 3:], np.broadcast_to(mean[:, None, None], (2, 4, 4, 3)))

    def test_arguments_are_validated(self):
        with self.assertRaisesRegex(ValueError, "Received: glimpse_size=30"):
            GlimpseNetwork(image_size=20, glimpse_size=30)
        with self.assertRaisesRegex(ValueError, "Received: backbone='vgg'"):
            GlimpseNetwork(image_size=20, glimpse_size=5, backbone="vgg")
        with self.assertRaisesRegex(ValueError, "Received: stddev=0"):
            GaussianLocationPolicy(stddev=0)
        with self.assertRaisesRegex(ValueError, "Received: variant='dram_big'"):
            DRAM(num_classes=3, image_size=24, variant="dram_big")


class GaussianPolicyTest(tf.test.TestCase):
    def test_log_prob_equals_the_hand_formula(self):
        mean = np.array([[0.1, -0.4], [0.9, 0.0]], np.float32)
        locations = np.array([[0.25, -0.3], [1.0, -0.2]], np.float32)
        sigma = 0.1
        expected = np.sum(
            -((locations - mean) ** 2) / (2 * sigma**2)
            - math.log(sigma)
            - 0.5 * math.log(2 * math.pi),
            axis=-1,
        )
        self.assertAllClose(gaussian_log_prob(mean, locations, sigma), expected, rtol=1e-5)

    def test_reinforce_raises_the_log_prob_of_a_rewarded_location(self):
        policy = GaussianLocationPolicy(stddev=0.1, seed=3)
        hidden = tf.random.normal((4, 8), seed=4)
        location = policy(hidden, training=True)["location"]
        self.assertGreater(float(tf.reduce_max(tf.abs(location - policy(hidden)["mean"]))), 0.0)
        rewards = tf.constant([1.0, 1.0, 0.0, 0.0])  # advantage +1/2, +1/2, -1/2, -1/2

        def log_probs():
            return gaussian_log_prob(policy(hidden)["mean"], location, 0.1)

        before = log_probs().numpy()
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                reinforce_loss(log_probs()[:, None], rewards, tf.reduce_mean(rewards))
            )
        grads = tape.gradient(loss, policy.trainable_variables)
        keras.optimizers.SGD(1e-3).apply_gradients(zip(grads, policy.trainable_variables))
        after = log_probs().numpy()
        self.assertTrue(np.all(after[:2] > before[:2]), (before, after))  # positive advantage: up
        self.assertTrue(np.all(after[2:] < before[2:]), (before, after))  # negative advantage: down


class DRAMModelTest(tf.test.TestCase):
    def test_outputs_and_boxes(self):
        model = _tiny()
        out = model(_images(), training=True, num_glimpses=4)
        self.assertEqual(set(out), set(OUTPUT_KEYS))
        self.assertEqual(out["logits"].shape, (4, 5))
        self.assertEqual(out["glimpse_logits"].shape, (4, 4, 5))
        self.assertEqual(out["glimpse_boxes"].shape, (4, 4, 4))
        self.assertAllEqual(out["logits"], out["glimpse_logits"][:, -1])
        boxes, locations = out["glimpse_boxes"].numpy(), out["locations"].numpy()
        corners = np.round(7.5 * (1 + locations)).astype(int)  # (S - g)/2 = (24 - 9)/2
        self.assertAllEqual(boxes[..., :2], corners)
        self.assertAllEqual(boxes[..., 2:] - boxes[..., :2], np.full((4, 4, 2), 9))
        self.assertTrue(np.all(boxes >= 0) and np.all(boxes <= 24))

    def test_inference_is_deterministic_and_prefixes_do_not_depend_on_t(self):
        model, images = _tiny(seed=1), _images(seed=1)
        long = model(images, num_glimpses=7)
        again = model(images, num_glimpses=7)
        for key in OUTPUT_KEYS:
            self.assertAllEqual(long[key], again[key])
        short = model(images, num_glimpses=3)
        for key in ("locations", "cells", "glimpse_boxes"):
            self.assertAllEqual(short[key], long[key][:, :3])
        self.assertAllClose(short["glimpse_logits"], long["glimpse_logits"][:, :3], atol=1e-6)
        self.assertAllEqual(long["locations"], long["mean_locations"])  # inference: l = mu
        sampled = model(images, training=True, num_glimpses=3)["locations"]
        self.assertNotAllClose(sampled, short["locations"])

    def test_paper_size_dram_builds(self):
        model = DRAM(num_classes=1001, image_size=224, variant="dram_resnet50v2")
        model.build()
        count = model.count_params()
        print(f"paper-size DRAM (ResNet50V2, 224 px, 1001 classes): {count:,} weights")
        self.assertEqual(model.glimpse_network.fields, (77, 150, 224))
        self.assertEqual(model.glimpse_network.output_size, 2048)
        resnet = (
            23_564_800 + 12 * 7 * 7 * 64
        )  # ResNet50V2 without top, 15 instead of 3 input channels
        lstms = (4 * 1024 * (2048 + 1024) + 4096) + (4 * 1024 * (1024 + 1024) + 4096)
        self.assertEqual(count, resnet + lstms + (1024 * 1001 + 1001) + (1024 * 2 + 2))


class DRAMTrainerTest(tf.test.TestCase):
    def test_loss_matches_hand_computation_and_reaches_every_network(self):
        model, images = _tiny(seed=3), _images(batch=8, seed=3)
        model.policy = OffsetLocationPolicy(0.05)  # deterministic: the outputs can be recomputed
        labels = np.argmax(model(images, training=True)["logits"].numpy(), -1)
        labels[[1, 2, 3, 4, 7]] = (labels[[1, 2, 3, 4, 7]] + 1) % 5  # 3 of 8 right
        decay = 1e-3
        trainer = DRAMTrainer(model, weight_decay=decay)
        total, logs = trainer.compute_losses(images, labels, training=True)
        out = {k: v.numpy().astype("float64") for k, v in model(images, training=True).items()}
        logits = out["logits"] - out["logits"].max(-1, keepdims=True)
        log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        ce = -log_softmax[np.arange(8), labels]
        rewards = (out["logits"].argmax(-1) == labels).astype("float64")
        self.assertEqual(rewards.sum(), 3)
        log_pi = np.sum(
            -((out["locations"] - out["mean_locations"]) ** 2) / (2 * 0.01)
            - math.log(0.1)
            - 0.5 * math.log(2 * math.pi),
            axis=-1,
        )
        reinforce = -np.mean((rewards - rewards.mean()) * log_pi.mean(axis=1))
        decayed = [w for w in model.trainable_variables if len(w.shape) >= 2]
        penalty = decay * sum(0.5 * np.sum(w.numpy().astype("float64") ** 2) for w in decayed)
        self.assertAllClose(logs["reinforce"], reinforce, rtol=1e-4)
        self.assertAllClose(total, ce.mean() + 0.1 * reinforce + penalty, rtol=1e-5)

        # Eager here; the graph-mode `fit` step is MirroredEquivalenceTest's.
        with tf.GradientTape() as tape:
            loss, _ = trainer.compute_losses(images, labels, training=True)
        grads = tape.gradient(loss, trainer.trained_variables())
        with_grad = {
            v.path
            for v, g in zip(trainer.trained_variables(), grads)
            if g is not None and np.any(g.numpy() != 0)
        }
        for variable in (
            model.location_policy.trainable_variables
            + model.location_lstm.trainable_variables
            + model.classifier.trainable_variables
        ):
            self.assertIn(variable.path, with_grad)
        self.assertIn(model.glimpse_network.backbone.get_layer("conv0").kernel.path, with_grad)


# Runs in a fresh interpreter: the 2 logical CPUs must exist before TensorFlow initialises.
_MIRRORED_SCRIPT = r"""
import contextlib, json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
from saccader_tf.training.dram_trainer import DRAMTrainer
from tests.support.comparable_models import offset_dram as make_model  # deterministic, BN frozen


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
keras.utils.set_random_seed(0)
with strategy.scope():
    mirrored = make_model()
single = make_model()
initial = mirrored.get_weights()
images = np.random.default_rng(0).normal(size=(8, 24, 24, 1)).astype("float32")
single.set_weights(initial)
labels = np.argmax(single(images, training=True)["logits"].numpy(), -1)
labels[[1, 2, 3, 4, 7]] = (labels[[1, 2, 3, 4, 7]] + 1) % 5  # 3 of 8 right: baselines differ per replica
results = []
for model, scope in ((single, contextlib.nullcontext()), (mirrored, strategy.scope())):
    model.set_weights(initial)
    with scope:
        trainer = DRAMTrainer(model, weight_decay=1e-2)
        trainer.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
    logs = trainer.fit(images, labels.astype("int32"), batch_size=8, epochs=1, shuffle=False, verbose=0)
    results.append([w.numpy() for w in model.weights])
report = {
    "replicas": strategy.num_replicas_in_sync,
    "reward": float(logs.history["reward"][0]),
    "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(*results)),
    "max_update": max(float(np.max(np.abs(a - b))) for a, b in zip(results[0], initial)),
}
print("RESULT " + json.dumps(report))
"""  # noqa: E501 (a script run in a subprocess)


@pytest.mark.slow
class MirroredEquivalenceTest(tf.test.TestCase):
    """One DRAM step (graph mode, `fit`) on 2 logical CPUs equals one step on one device.

    Global batch 8 with 3 correct predictions (so a per-replica baseline would differ from the
    global one), SGD 0.1, weight decay 1e-2, BN frozen, a deterministic offset policy on both.
    """

    def test_two_replicas_match_one_device(self):
        report = run_result_script(self, _MIRRORED_SCRIPT)
        self.assertEqual(report["replicas"], 2)
        self.assertGreater(report["max_update"], 1e-3)
        self.assertLess(report["max_diff"], 1e-5, report)


class DRAMExportTest(tf.test.TestCase):
    def test_savedmodel_serves_the_saccader_signature(self):
        from saccader_tf.export.savedmodel import export_model

        model = _tiny(seed=4, num_glimpses=2)  # few glimpses: the export traces one unroll per T
        directory = os.path.join(tempfile.mkdtemp(), "export")
        export_model(
            model, directory, mean=(0.5,), std=(0.25,), crop_fraction=1.0, top_k=3, max_glimpses=1
        )
        served = tf.saved_model.load(directory)
        pixels = np.random.default_rng(4).integers(0, 256, size=(2, 24, 24, 1)).astype(np.uint8)
        out = served.serving_default(tf.constant(pixels))
        expected = model((pixels.astype(np.float32) / 255.0 - 0.5) / 0.25)
        self.assertEqual(
            set(out),
            {
                "logits",
                "probabilities",
                "top_k_classes",
                "top_k_class_names",
                "top_k_scores",
                "glimpse_boxes",
                "glimpse_cells",
            },
        )
        self.assertAllClose(out["logits"], expected["logits"], atol=1e-4)
        self.assertAllEqual(out["glimpse_cells"], expected["cells"])
        self.assertAllClose(out["glimpse_boxes"], tf.cast(expected["glimpse_boxes"], tf.float32))
        one = served.serve_glimpses(tf.constant(pixels), tf.constant([1, 1]))
        self.assertAllEqual(one["glimpse_cells"], expected["cells"][:, :1])
        self.assertAllClose(one["logits"], expected["glimpse_logits"][:, 0], atol=1e-4)


class DRAMEvaluationTest(tf.test.TestCase):
    def test_shared_evaluation_and_pictures_accept_a_dram(self):
        import types

        from saccader_tf.evaluation import pictures
        from saccader_tf.evaluation.evaluate import evaluate_model
        from saccader_tf.models.dram.dram import DRAM_POLICIES

        model, images = _tiny(seed=5), _images(batch=4, seed=5)
        labels = np.argmax(model(images, num_glimpses=3)["glimpse_logits"].numpy(), -1)  # [4, 3]
        source = types.SimpleNamespace(
            eval=tf.data.Dataset.from_tensors((images, labels[:, 1].astype("int32"))),
            eval_boxes=None,
            class_names=None,
        )
        result = evaluate_model(
            model, source, max_glimpses=3, policies=DRAM_POLICIES, occlusion_glimpses=()
        )
        learned = {
            row["glimpses"]: row["top1"] for row in result.rows if row["policy"] == "learned"
        }
        # The labels are the predictions after 2 glimpses: T = 2 is exactly right (step 2's logits).
        self.assertEqual(learned[2], 1.0)
        expected = [np.mean(labels[:, t] == labels[:, 1]) for t in range(3)]
        self.assertAllClose([learned[t] for t in (1, 2, 3)], expected)
        self.assertEqual({row["policy"] for row in result.rows}, set(DRAM_POLICIES))
        path = pictures.plot_model_glimpses(
            model, images, os.path.join(tempfile.mkdtemp(), "g.png"), num_glimpses=3
        )
        self.assertGreater(os.path.getsize(path), 1000)
