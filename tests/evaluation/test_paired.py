"""The paired comparison with the learned policy: McNemar's exact test against hand-computed
values, the discordant counts of hand-made hit vectors, and the policy table's columns."""

import math

import numpy as np
import tensorflow as tf

from saccader_tf.evaluation.paired import (
    format_p_value,
    mcnemar_p_value,
    paired_counts,
    paired_with_learned,
)
from saccader_tf.evaluation.policy_comparison import format_policy_table


def _log_sum_p_value(n01, n10):
    """An independent reference: the same tail from `math.lgamma` and a log-sum-exp."""
    n, low = n01 + n10, min(n01, n10)
    logs = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(low + 1)
    ]
    top = max(logs)
    log_tail = top + math.log(sum(math.exp(v - top) for v in logs)) - n * math.log(2)
    return min(1.0, 2 * math.exp(log_tail))


class McNemarTest(tf.test.TestCase):
    def test_hand_computed_values(self):
        # n = 12, min = 2: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096.
        self.assertAllClose(mcnemar_p_value(10, 2), 158 / 4096)
        self.assertAllClose(mcnemar_p_value(2, 10), 158 / 4096)  # two-sided: symmetric
        self.assertAllClose(mcnemar_p_value(0, 20), 2 / 2**20)  # 2 * C(20,0) / 2^20
        self.assertAllClose(mcnemar_p_value(6, 1), 2 * (1 + 7) / 128)
        self.assertEqual(mcnemar_p_value(0, 0), 1.0)  # no discordant image: no evidence
        self.assertEqual(mcnemar_p_value(7, 7), 1.0)
        self.assertEqual(mcnemar_p_value(3, 2), 1.0)  # 2 * (1 + 5 + 10) / 32 = 1

    def test_large_counts_agree_with_a_log_gamma_sum(self):
        for n01, n10 in ((400, 330), (95, 60), (1200, 1100), (3000, 2900)):
            self.assertAllClose(mcnemar_p_value(n01, n10), _log_sum_p_value(n01, n10), rtol=1e-9)

    def test_negative_counts_are_refused(self):
        with self.assertRaisesRegex(ValueError, "n01=-1"):
            mcnemar_p_value(-1, 3)

    def test_p_value_text(self):
        self.assertEqual(format_p_value(158 / 4096), "0.0386")
        self.assertEqual(format_p_value(2e-6), "<1e-4")


class PairingTest(tf.test.TestCase):
    def test_counts_of_hand_made_hits(self):
        learned = [1, 1, 1, 0, 0, 1, 0]
        other = [1, 0, 0, 1, 0, 1, 0]  # only learned: images 1, 2; only other: image 3
        self.assertEqual(paired_counts(np.array(learned, bool), np.array(other, bool)), (2, 1))
        with self.assertRaisesRegex(ValueError, "same images"):
            paired_counts(np.ones(3, bool), np.ones(4, bool))

    def test_every_row_is_paired_with_learned_at_the_largest_t(self):
        # 6 images, T = 2. The learned policy with 2 glimpses gets images 0-3 right.
        learned = np.array([[0, 1], [1, 1], [0, 1], [1, 1], [0, 0], [1, 0]], bool)
        ordered = np.array([[1, 1], [1, 0], [0, 0], [1, 1], [1, 1], [0, 0]], bool)
        full = np.array([[1], [1], [1], [1], [1], [1]], bool)  # one column: no glimpses
        per_image = {
            "final": {"learned": learned, "ordered_logits": ordered, "full": full},
            "stage1": {"full": np.array([[0], [0], [0], [0], [0], [1]], bool)},
        }
        paired = paired_with_learned(per_image)
        self.assertEqual(set(paired), {"final", "stage1"})
        self.assertNotIn("learned", paired["final"])
        # ordered_logits at T = 2 right on 0, 3, 4: only learned 1, 2; only ordered 4.
        ordered_row = paired["final"]["ordered_logits"]
        self.assertEqual((ordered_row["only_learned"], ordered_row["only_this"]), (2, 1))
        self.assertEqual(ordered_row["p_value"], 1.0)
        full_row = paired["final"]["full"]
        self.assertEqual((full_row["only_learned"], full_row["only_this"]), (0, 2))
        stage1_row = paired["stage1"]["full"]  # right on image 5 only
        self.assertEqual((stage1_row["only_learned"], stage1_row["only_this"]), (4, 1))
        self.assertAllClose(stage1_row["p_value"], 2 * (1 + 5) / 32)
        first = paired_with_learned(per_image, column=0)["final"]["ordered_logits"]
        # T = 1: learned right on 1, 3, 5; ordered on 0, 1, 3, 4.
        self.assertEqual((first["only_learned"], first["only_this"]), (1, 2))
        self.assertEqual(paired_with_learned({"final": {"full": full}}), {})

    def test_table_has_the_paired_columns(self):
        accuracies = {
            "examples": 6,
            "final": {"learned": 4 / 6, "ordered_logits": 3 / 6},
            "stage1": {"ordered_logits": 0.5},
            "paired": {
                "final": {"ordered_logits": {"only_learned": 2, "only_this": 1, "p_value": 1.0}},
                "stage1": {
                    "ordered_logits": {"only_learned": 10, "only_this": 2, "p_value": 0.0386}
                },
            },
        }
        lines = format_policy_table(accuracies, 2).splitlines()
        self.assertEqual(
            lines[0],
            "policy          network   glimpses  accuracy   error  only_learned  only_this       p",
        )
        self.assertEqual(
            lines[1],
            "learned         final            2    66.67%  33.33%             -          -       -",
        )
        self.assertEqual(
            lines[2],
            "ordered_logits  stage1           2    50.00%  50.00%            10          2  0.0386",
        )
        self.assertEqual(
            lines[3],
            "ordered_logits  final            2    50.00%  50.00%             2          1  1.0000",
        )
        self.assertIn("McNemar", lines[-1])
        without = format_policy_table({k: v for k, v in accuracies.items() if k != "paired"}, 2)
        self.assertNotIn("only_learned", without)
