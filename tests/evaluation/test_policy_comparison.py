"""Policy comparison: the numbers agree with the model's own calls."""

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.evaluate import format_policy_table, policy_accuracies
from saccader_tf.models import Saccader


class PolicyAccuraciesTest(tf.test.TestCase):
    def test_learned_and_full_rows_match_the_models_own_predictions(self):
        model = Saccader(
            num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1, seed=1
        )
        rng = np.random.default_rng(0)
        images = rng.normal(size=(10, 24, 24, 1)).astype("float32")
        out = model(images, num_glimpses=2)
        # Labels chosen so that the learned and the full-image predictions score differently.
        labels = out["logits"].numpy().argmax(-1)
        labels[:4] = (labels[:4] + 1) % 3
        dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
        result = policy_accuracies(
            model, dataset, num_glimpses=2, policies=("learned", "full", "random")
        )
        self.assertEqual(result["examples"], 10)
        self.assertNotIn("stage1", result)  # no stage-1 network given
        self.assertAllClose(result["final"]["learned"], 0.6)
        full = np.mean(out["full_logits"].numpy().argmax(-1) == labels)
        self.assertAllClose(result["final"]["full"], full)
        # Paired image by image (across 3 batches): counts from the model's own predictions.
        learned_hits = out["logits"].numpy().argmax(-1) == labels
        full_hits = out["full_logits"].numpy().argmax(-1) == labels
        paired = result["paired"]["final"]["full"]
        self.assertEqual(paired["only_learned"], int(np.sum(learned_hits & ~full_hits)))
        self.assertEqual(paired["only_this"], int(np.sum(~learned_hits & full_hits)))
        self.assertEqual(set(result["paired"]["final"]), {"full", "random"})
        table = format_policy_table(result, 2)
        self.assertIn("learned         final            2    60.00%  40.00%             -", table)
        self.assertIn("(10 test images)", table)

    def test_empty_dataset_is_an_error(self):
        model = Saccader(num_classes=3, image_size=24, variant="bagnet9_tiny", input_channels=1)
        empty = tf.data.Dataset.from_tensor_slices(
            (np.zeros((0, 24, 24, 1), "float32"), np.zeros((0,), "int64"))
        ).batch(2)
        with self.assertRaisesRegex(ValueError, "empty"):
            policy_accuracies(model, empty)
