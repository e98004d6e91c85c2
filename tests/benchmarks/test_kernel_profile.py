"""The stage-1 kernel profile's parts: time attribution, op categories, ratios, the row verdict."""

import tensorflow as tf

from benchmarks import cli as benchmark
from benchmarks import rows as table
from benchmarks.kernel_ops import OUTSIDE, canonical_type, categorize, layer_key
from benchmarks.kernel_profile import KernelProfile, KernelRow, attributed_seconds, build_profile
from benchmarks.training_throughput import StepTiming

LAYERS = {"stem_conv3x3", "stem_bn", "group1_block1", "conv2", "bn1", "patch_logits"}


class AttributionTest(tf.test.TestCase):
    def test_overlapping_ops_split_the_wall_time(self):
        # (0, 2) and (1, 3): 1 s alone each, 1 s together split in halves; union 3 s.
        self.assertAllClose(attributed_seconds([(0.0, 2.0), (1.0, 3.0)]), [1.5, 1.5])
        # (0, 4) holds (1, 2): the outer op gets 3 s alone and half of the shared second.
        self.assertAllClose(attributed_seconds([(0.0, 4.0), (1.0, 2.0)]), [3.5, 0.5])
        # Disjoint, touching and zero-length intervals.
        self.assertAllClose(attributed_seconds([(0.0, 1.0), (1.0, 2.0), (5.0, 5.0)]), [1, 1, 0])
        self.assertAllClose(attributed_seconds([]), [])


class CategoryTest(tf.test.TestCase):
    def test_names_and_types(self):
        self.assertEqual(canonical_type("_MklNativeConv2DBackpropFilter"), "Conv2DBackpropFilter")
        self.assertEqual(canonical_type("_MklFusedBatchNormV3"), "FusedBatchNormV3")
        self.assertEqual(canonical_type("_FusedConv2D"), "_FusedConv2D")
        self.assertEqual(canonical_type("Relu"), "Relu")
        name = (
            "gradient_tape/representation_1/group1_block1_1/conv2_1/convolution/Conv2DBackpropInput"
        )
        self.assertEqual(layer_key(name, LAYERS), "group1_block1/conv2")
        self.assertEqual(categorize(name, "_MklNativeConv2DBackpropInput"), "conv_input_grad")
        self.assertEqual(
            categorize("representation_1/stem_bn_1/FusedBatchNormV3", "_MklFusedBatchNormV3"),
            "batch_norm",
        )
        self.assertEqual(categorize("adam/Sub_106", "Sub"), "optimizer")
        self.assertEqual(categorize("AddN_5", "AddN"), "residual_add")
        self.assertEqual(
            categorize(
                "SparseSoftmaxCrossEntropyWithLogits/x", "SparseSoftmaxCrossEntropyWithLogits"
            ),
            "loss",
        )
        self.assertEqual(categorize("representation_1/group1_block1_1/Slice", "Slice"), "slice_pad")
        self.assertEqual(categorize("Identity_3", "Identity"), "other")


class BuildProfileTest(tf.test.TestCase):
    def test_rows_ratios_and_pruned_flops(self):
        events = [  # two steps of 0.5 s wall each
            ("r/stem_conv3x3/convolution", "Conv2D", 0.0, 0.1),
            ("r/stem_bn/FusedBatchNormV3", "FusedBatchNormV3", 0.1, 0.2),
            ("adam/Mul", "Mul", 0.2, 0.25),
            ("r/stem_conv3x3/convolution", "Conv2D", 1.0, 1.1),
            ("r/stem_bn/FusedBatchNormV3", "FusedBatchNormV3", 1.1, 1.2),
            ("adam/Mul", "Mul", 1.2, 1.25),
        ]
        flops = {
            ("conv_forward", "stem_conv3x3"): 100,
            ("conv_input_grad", "stem_conv3x3"): 50,
        }  # in the graph, never ran: pruned
        profile = build_profile(events, flops, LAYERS, [0.5, 0.5], peak_flops=2000.0, batch_size=4)
        by_category = {row.category: row for row in profile.rows}
        self.assertEqual(profile.flops, 100)
        self.assertAllClose(by_category["conv_forward"].seconds, 0.1)
        self.assertEqual(by_category["conv_forward"].label, "Conv2D forward: stem_conv3x3")
        self.assertAllClose(by_category["conv_forward"].ops, 1.0)
        self.assertAllClose(by_category[OUTSIDE].seconds, 0.5 - 0.25)
        self.assertAllClose(sum(row.seconds for row in profile.rows), 0.5)
        self.assertAllClose(profile.achieved_fraction, 100 / 0.5 / 2000)  # 0.1
        self.assertAllClose(profile.ceiling_fraction, 100 / 0.1 / 2000)  # 0.5
        self.assertAllClose(profile.reachable_fraction, 100 / 0.2 / 2000)  # conv + BN: 0.25
        again = KernelProfile.from_numbers(profile.to_numbers())
        self.assertEqual(again, profile)


class VerdictTest(tf.test.TestCase):
    def test_peak_fraction_row_against_the_reachable_ratio(self):
        setup = benchmark.make_plan(benchmark.parse_args([])).default
        timings = {s: StepTiming(s, 64, 0.2, 100) for s in (1, 2, 3)}  # 32,000 FLOP/s
        peak = 1e5  # the timed fraction: 0.32

        def profile(layer_seconds):  # 6,400 FLOP per 0.2 s step (0.16 of 2e5), conv 0.1 s
            rows = (
                KernelRow("conv_forward", "Conv2D forward: x", 1, 0.1, 6400),
                KernelRow("batch_norm", "FusedBatchNorm", 1, layer_seconds - 0.1, 0),
                KernelRow(OUTSIDE, "outside", 0, 0.2 - layer_seconds, 0),
            )
            return KernelProfile(rows, step_seconds=0.2, flops=6400, peak_flops=2e5, batch_size=64)

        # Layers' kernels 0.19 s: reachable 6400 / 0.19 / 2e5 = 0.168; 0.16 >= 0.9 x 0.168: met.
        near = profile(0.19)
        row = {r.key: r for r in table.training_rows("default", setup, timings, peak, near)}
        fraction = row["default/stage1_peak_fraction"]
        self.assertTrue(fraction.met)
        self.assertIn("≥ 0.5 (missed", fraction.target)
        self.assertIn("reachable 0.17", fraction.target)
        self.assertIn("ceiling 0.32", fraction.target)
        self.assertAllClose(fraction.numbers["reached_threshold"], 0.9 * 6400 / 0.19 / 2e5)
        # Layers' kernels 0.12 s: reachable 0.267; 0.16 < 0.9 x 0.267: not met.
        row = {
            r.key: r for r in table.training_rows("default", setup, timings, peak, profile(0.12))
        }
        self.assertFalse(row["default/stage1_peak_fraction"].met)
        # Without a profile the row keeps the plain 0.5 target.
        row = {r.key: r for r in table.training_rows("default", setup, timings, peak)}
        self.assertFalse(row["default/stage1_peak_fraction"].met)
        self.assertEqual(row["default/stage1_peak_fraction"].target, "≥ 0.5")
        self.assertEqual(table.profile_row(setup, None).value, "skipped")
        shown = table.profile_row(setup, near)
        self.assertIn("reachable 0.17", shown.value)
        self.assertAllClose(shown.numbers["shares"]["conv_forward"], 0.5)
