"""The stage-ratio rows and the stage-parts table, on made-up timings (no model runs)."""

import tensorflow as tf

from benchmarks.plan import ModelSetup, StageRatioSetup
from benchmarks.stage_parts import DILATED, STAGE_PARTS, StageParts
from benchmarks.stage_rows import REST, format_stage_parts, stage_ratio_rows

SETUP = StageRatioSetup(ModelSetup("bagnet29_small", 100, 10, 1, 64, 8, 2), 0.6, 1.0)


def _parts(step2=0.25, step3=0.5):
    return StageParts(
        label=SETUP.setup.label,
        grid=18,
        steps={1: 0.4, 2: step2, 3: step3},
        parts={stage: {name: 0.04 for name in STAGE_PARTS[stage]} for stage in (2, 3)},
        dilated={DILATED[0]: 0.01, DILATED[1]: 0.03},
        rounds=8,
    )


class StageRowsTest(tf.test.TestCase):
    def test_ratios_against_their_targets(self):
        rows = {row.key: row for row in stage_ratio_rows(1, SETUP, _parts())}
        two, three = rows["stages1/stage2_over_stage1"], rows["stages1/stage3_over_stage1"]
        self.assertAllClose(two.numbers["ratio"], 0.625)
        self.assertFalse(two.met)  # 0.625 > 0.6
        self.assertAllClose(three.numbers["ratio"], 1.25)
        self.assertFalse(three.met)
        self.assertEqual((two.target, three.target), ("≤ 0.6", "≤ 1.0"))
        rows = {row.key: row for row in stage_ratio_rows(1, SETUP, _parts(0.2, 0.4))}
        self.assertTrue(rows["stages1/stage2_over_stage1"].met)  # 0.5
        self.assertTrue(rows["stages1/stage3_over_stage1"].met)  # 1.0

    def test_skipped_part_gives_skipped_rows(self):
        rows = stage_ratio_rows(0, SETUP, None)
        self.assertEqual([row.value for row in rows], ["skipped", "skipped"])
        self.assertEqual(rows[0].target, "≤ 0.6")

    def test_table_rest_is_the_step_minus_its_parts_and_survives_json(self):
        parts = _parts()
        restored = StageParts.from_numbers(
            {**parts.to_numbers(), "steps": {"1": 0.4, "2": 0.25, "3": 0.5}}
        )
        self.assertEqual(restored, parts)
        table = format_stage_parts(parts)
        self.assertIn(f"| 2 | {REST} | 50.0 | 20% | 0.12 |", table)  # 250 − 5 × 40 ms
        self.assertIn(f"| 3 | {REST} | 300.0 | 60% | 0.75 |", table)
        self.assertIn("| 3 | **whole step** | 500.0 | 100% | 1.25 |", table)
        self.assertIn("(3.00× the patch matmul)", table)
