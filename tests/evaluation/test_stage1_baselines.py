"""The `full` / `ordered_logits` baselines and the occlusion check read the stage-1 network."""

import os

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.evaluation import occlusion
from saccader_tf.evaluation.evaluate import evaluate_model, format_policy_table, policy_accuracies
from saccader_tf.evaluation.results import format_table
from saccader_tf.evaluation.stage1_network import load_stage1_network
from saccader_tf.model_dir import stage_files as checkpoints
from saccader_tf.models import Saccader
from saccader_tf.models.saccader.policies import make_policy
from tests.support.sources import dataset_source

TINY = dict(num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, num_glimpses=2)


def _model(seed):
    keras.utils.set_random_seed(seed)  # the weight initialisers are unseeded: distinct networks
    model = Saccader(**TINY, seed=seed)
    model(tf.zeros([1, 24, 24, 1]))
    return model


def _accuracy(logits, labels):
    return float(np.mean(np.asarray(logits).argmax(-1) == labels))


class Stage1BaselinesTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.final, cls.stage1 = _model(1), _model(2)
        rng = np.random.default_rng(0)
        cls.images = rng.normal(size=(6, 24, 24, 1)).astype("float32")
        # The final model's full-image predictions are all right: negating its head makes
        # them wrong.
        cls.labels = cls.final(cls.images)["full_logits"].numpy().argmax(-1).astype("int32")
        cls.dataset = tf.data.Dataset.from_tensor_slices((cls.images, cls.labels)).batch(6)

    def _stage1_by_hand(self):
        context, _ = self.stage1.context(self.images, training=False)
        ordered = self.stage1.unroll(context, 2, make_policy("ordered_logits"), training=False)
        return {
            "full": _accuracy(context.full_logits, self.labels),
            "ordered_logits": _accuracy(ordered["logits"], self.labels),
        }

    def test_stage1_rows_use_the_stage1_weights_whatever_the_final_weights(self):
        policies = ("full", "ordered_logits")
        before = policy_accuracies(self.final, self.dataset, policies=policies, stage1=self.stage1)
        self.assertEqual(set(before["final"]), set(policies))
        self.assertAllClose(before["stage1"], self._stage1_by_hand())
        self.assertEqual(before["final"]["full"], 1.0)
        head = [v for v in self.final.representation.weights if "patch_logits" in v.path]
        saved = [v.numpy() for v in head]
        try:
            for variable in head:  # perturb the stage-3 weights: negated logits, argmin predictions
                variable.assign(-variable)
            after = policy_accuracies(
                self.final, self.dataset, policies=policies, stage1=self.stage1
            )
        finally:
            for variable, value in zip(head, saved):
                variable.assign(value)
        self.assertEqual(after["final"]["full"], 0.0)  # the final rows moved ...
        self.assertEqual(after["stage1"], before["stage1"])  # ... the stage-1 rows did not
        table = format_policy_table(after, 2)
        self.assertRegex(table, r"\nfull +stage1 +all +\d+\.\d\d%")
        self.assertRegex(table, r"\nfull +final +all +0\.00% +100\.00%")
        self.assertRegex(table, r"\nordered_logits +stage1 +2 ")

    def test_evaluate_model_labels_rows_and_judges_occlusion_with_stage1(self):
        source = dataset_source(self.dataset, 3)
        result = evaluate_model(
            self.final,
            source,
            max_glimpses=2,
            policies=("learned", "full"),
            occlusion_glimpses=(1, 2),
            stage1=self.stage1,
        )
        hand = self._stage1_by_hand()
        self.assertAllClose(result.row("full", network="stage1")["top1"], hand["full"])
        self.assertAllClose(
            result.row("ordered_logits", 2, network="stage1")["top1"], hand["ordered_logits"]
        )
        self.assertEqual(result.row("full")["top1"], 1.0)  # network="final" by default
        self.assertEqual({r["network"] for r in result.rows if r["policy"] == "learned"}, {"final"})
        self.assertLen(
            result.rows, 2 + 1 + 1 + 2
        )  # learned T=1,2; full; stage1: full, ordered T=1,2
        self.assertEqual(result.occlusion_network, "stage1")
        self.assertIn(
            "occlusion check: full-image top-1 of the stage-1 BagNet", format_table(result)
        )
        cells = self.final(self.images, num_glimpses=2)["cells"]  # the learned policy's cells ...
        for row in result.occlusion:
            blanked = occlusion.blank_boxes(
                self.images, self.final.boxes(cells[:, : row["glimpses"]]), 0.0
            )
            judged = self.stage1.representation(blanked, training=False)[
                "logits"
            ]  # ... judged by stage 1
            self.assertAllClose(row["chosen_top1"], _accuracy(judged, self.labels))

    def test_load_stage1_network_reads_the_stage1_checkpoint(self):
        model_dir = self.get_temp_dir()
        self.assertIsNone(load_stage1_network(self.final, model_dir))
        checkpoints.save_stage(self.stage1, model_dir, 1)
        self.assertTrue(os.path.exists(checkpoints.stage_weights_path(model_dir, 1)))
        loaded = load_stage1_network(self.final, model_dir)
        for a, b in zip(loaded.representation.weights, self.stage1.representation.weights):
            self.assertAllEqual(a, b)
        with self.assertRaisesRegex(ValueError, "Received: stage1_policies=\\('learned',\\)"):
            policy_accuracies(self.final, self.dataset, stage1=loaded, stage1_policies=("learned",))


if __name__ == "__main__":
    tf.test.main()
