"""`python -m benchmarks`: the quick mode prints every row; FLOP counts by hand;
targets."""

import io
import json
import os
import tempfile

import numpy as np
import tensorflow as tf

from benchmarks import cli as benchmark
from benchmarks import rows as table
from benchmarks.flop_count import conv_flops, forward_flops, stage_flops
from benchmarks.gpu_paths import gpu_rows
from benchmarks.jpeg_pipeline import JpegTimings
from benchmarks.plan import quick_plan
from benchmarks.serving_latency import ServingLatency
from benchmarks.training_throughput import StepTiming
from saccader_tf.models.saccader.saccader import Saccader

ROW_KEYS = [
    "peak_matmul",
    "default/stage1",
    "default/stage2",
    "default/stage3",
    "default/stage3_over_stage1",
    "default/stage1_peak_fraction",
    "default/stage1_kernel_profile",
    "stages0/stage2_over_stage1",
    "stages0/stage3_over_stage1",
    "stages1/stage2_over_stage1",
    "stages1/stage3_over_stage1",
    "bagnet77/stage1",
    "bagnet77/stage2",
    "bagnet77/stage3",
    "bagnet77/stage3_over_stage1",
    "bagnet77/stage1_peak_fraction",
    "input_pipeline",
    "jpeg/decode",
    "jpeg/pipeline",
    "folder/folder_cached",
    "folder/folder_streamed",
    "serving/batch1",
    "serving/batch32",
    "gpu/xla_stage1",
    "gpu/mixed_float16_stage1",
]
GPU_KEYS = ("gpu/xla_stage1", "gpu/mixed_float16_stage1")


def _run(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    benchmark.main(argv, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def _table_lines(stdout):
    """The main table's rows (the kernel profile's table, printed after a blank line, excluded)."""
    main = stdout.split("\n\n")[1]
    return [
        line for line in main.splitlines() if line.startswith("| ") and "measurement" not in line
    ]


class QuickBenchmarkTest(tf.test.TestCase):
    """One quick run (tiny models, a few steps) shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.json_path = os.path.join(cls.tmp.name, "bench.json")
        cls.stdout, cls.stderr = _run(["--quick", f"--output={cls.json_path}"])
        with open(cls.json_path) as f:
            cls.report = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def test_prints_every_row_with_a_value(self):
        lines = _table_lines(self.stdout)
        self.assertLen(lines, len(ROW_KEYS))
        for row in self.report["rows"]:
            self.assertIn(f"| {row['measurement']} | {row['value']} |", self.stdout)
            self.assertNotEqual(row["value"], "skipped")

    def test_json_rows_and_header(self):
        self.assertEqual([row["key"] for row in self.report["rows"]], ROW_KEYS)
        self.assertTrue(self.report["header"]["quick"])
        self.assertEqual(self.report["header"]["cpu_cores"], os.cpu_count())
        targeted = [
            row for row in self.report["rows"] if row["target"] and row["key"] not in GPU_KEYS
        ]
        # 2 stage-3 ratios, 4 stage-2/3 ratios at two sizes, 2 peak fractions, the pipeline,
        # the JPEG pipeline, folder, 2 serving
        self.assertLen(targeted, 13)
        for row in targeted:
            self.assertIn(row["met"], (True, False), msg=row["key"])

    def test_names_its_device_and_claims_nothing_about_gpus_on_a_cpu(self):
        self.assertEqual(tf.config.list_physical_devices("GPU"), [])  # this suite's machine
        self.assertEqual(self.report["header"]["device"], "CPU")
        self.assertIn("ran on CPU", self.stdout)
        rows = {row["key"]: row for row in self.report["rows"]}
        for key in GPU_KEYS:
            self.assertEqual(rows[key]["value"], "not measured: no GPU (ran on CPU)")
            self.assertIsNone(rows[key]["met"])
            self.assertEqual(rows[key]["numbers"], {})
            self.assertIn(
                f"| {rows[key]['measurement']} | not measured: no GPU (ran on CPU) |", self.stdout
            )

    def test_numbers_are_consistent(self):
        rows = {row["key"]: row["numbers"] for row in self.report["rows"]}
        one, three = rows["default/stage1"], rows["default/stage3"]
        self.assertAllClose(
            rows["default/stage3_over_stage1"]["time_ratio"],
            three["seconds_per_step"] / one["seconds_per_step"],
        )
        self.assertAllClose(one["images_per_second"], one["batch_size"] / one["seconds_per_step"])
        self.assertAllClose(
            rows["input_pipeline"]["stage3_images_per_second"], three["images_per_second"]
        )
        for key in ("serving/batch1", "serving/batch32"):
            self.assertTrue(rows[key]["same_cells"])
            self.assertLess(rows[key]["max_logit_difference"], 1e-4)
        jpeg = rows["jpeg/pipeline"]
        self.assertEqual(rows["jpeg/decode"], jpeg)
        self.assertAllClose(jpeg["ratio"], jpeg["pipeline"] / jpeg["decode"])
        self.assertEqual(jpeg["threads"], 1)
        for key in ("decode", "pipeline", "decode_wall", "pipeline_wall", "mean_bytes"):
            self.assertGreater(jpeg[key], 0, msg=key)
        for key in ("folder/folder_cached", "folder/folder_streamed"):
            self.assertAllClose(
                rows[key]["ratio"],
                rows[key]["seconds_per_step"] / rows[key]["builtin_seconds_per_step"],
            )

    def test_progress_goes_to_stderr(self):
        for part in (
            "peak:",
            "default: stage 3",
            "bagnet77: stage 1",
            "stages: bagnet9_tiny 40 px",
            "pipeline:",
            "jpeg: writing 16 JPEGs",
            "jpeg: epoch 1/1, pipeline",
            "folder: round 1/1",
            "serving:",
            "done",
        ):
            self.assertIn(part, self.stderr)

    def test_stage_parts_tables(self):
        # Both quick sizes print their stage-2/3 parts; the ratio rows carry their targets and
        # agree with the step times behind them.
        text = self.stdout.split("Stage 2 and 3 parts", 1)[1]
        rows = {r["key"]: r for r in self.report["rows"]}
        self.assertIn("bagnet9_tiny 28 px", text)
        self.assertNotIn("bagnet9_tiny 40 px", text)  # the second quick size: steps only
        for index in (0, 1):
            for stage, target in ((2, 0.6), (3, (1.3, 1.0)[index])):
                numbers = rows[f"stages{index}/stage{stage}_over_stage1"]["numbers"]
                steps = numbers["parts"]["steps"]
                self.assertAllClose(numbers["ratio"], steps[str(stage)] / steps["1"])
                self.assertEqual(numbers["target"], target)
        for part in ("frozen BagNet forward", "cell (glimpse steps)", "rest: optimizer update"):
            self.assertIn(f"| {part}", text)
        self.assertIn("dilated Conv2D", text)

    def test_kernel_profile_table(self):
        # The stage-1 kernel table is printed below the main table, one row per kernel category
        # (and per layer for convolutions and BatchNorm), and its FLOP column adds up to the
        # analytic count of the step: stage_flops x batch.
        self.assertIn("Stage-1 kernel profile", self.stdout)
        profile_text = self.stdout.split("Stage-1 kernel profile", 1)[1]
        for label in (
            "Conv2D forward: stem_conv3x3",
            "Conv2DBackpropInput: group1_block1/conv2",
            "Conv2DBackpropFilter: stem_conv3x3",
            "FusedBatchNorm",
            "FusedBatchNormGrad",
            "optimizer update (Adam)",
            "outside ops",
            "**whole step**",
        ):
            self.assertIn(f"| {label}", profile_text)
        row = {r["key"]: r for r in self.report["rows"]}["default/stage1_kernel_profile"]
        profile = row["numbers"]["profile"]
        setup = quick_plan().default
        model = Saccader(
            num_classes=setup.num_classes,
            image_size=setup.image_size,
            variant=setup.variant,
            input_channels=setup.input_channels,
        )
        expected = stage_flops(model, 1) * setup.batch_size
        self.assertAllClose(sum(r["flops"] for r in profile["rows"]), expected, rtol=1e-6)
        self.assertEqual(profile["flops"], expected)
        # Every op is in exactly one row: the rows and the time outside ops make up the step.
        self.assertAllClose(
            sum(r["seconds"] for r in profile["rows"]), profile["step_seconds"], rtol=1e-6
        )
        # FLOP kernels ⊂ layer kernels ⊂ the whole step, so ceiling >= reachable >= achieved.
        self.assertGreaterEqual(profile["ceiling_fraction"], profile["reachable_fraction"])
        self.assertGreaterEqual(profile["reachable_fraction"], profile["achieved_fraction"])
        self.assertIn("ceiling", row["value"])
        peak_row = {r["key"]: r for r in self.report["rows"]}["default/stage1_peak_fraction"]
        self.assertIn("reachable", peak_row["target"])
        self.assertIn("≥ 0.5 (", peak_row["target"])


class SkipTest(tf.test.TestCase):
    def test_skipped_parts_still_print_their_rows(self):
        stdout, _ = _run(
            ["--quick", "--skip=default,profile,stages,bagnet77,pipeline,jpeg,folder,serving"]
        )
        lines = _table_lines(stdout)
        self.assertLen(lines, len(ROW_KEYS))
        # All but the peak; the GPU rows, not skipped, say that this CPU run did not measure them.
        self.assertLen([line for line in lines if "| skipped |" in line], len(ROW_KEYS) - 3)
        self.assertLen([line for line in lines if "not measured: no GPU" in line], 2)

    def test_unknown_part_is_refused(self):
        stderr = io.StringIO()
        with self.assertRaises(SystemExit) as raised:
            benchmark.main(["--quick", "--skip=gpu"], stdout=io.StringIO(), stderr=stderr)
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("Received: skip=gpu", stderr.getvalue())


class GpuRowsTest(tf.test.TestCase):
    """The GPU-path rows print a ratio only for a GPU run, whatever timings they are handed."""

    def test_cpu_timings_are_never_printed_as_a_gpu_claim(self):
        setup = quick_plan().default
        timings = {
            name: StepTiming(stage=1, batch_size=4, seconds=seconds, flops_per_image=1)
            for name, seconds in (("plain", 0.2), ("xla", 0.1), ("mixed_float16", 0.05))
        }
        for row in gpu_rows(setup, timings, "CPU"):
            self.assertEqual(row.value, "not measured: no GPU (ran on CPU)")
            self.assertIsNone(row.met)
            self.assertEqual(row.met_text, "n/a")
        on_gpu = {row.key: row for row in gpu_rows(setup, timings, "GPU:0 (Test GPU)")}
        self.assertAllClose(on_gpu["gpu/xla_stage1"].numbers["ratio"], 0.5)
        self.assertAllClose(on_gpu["gpu/mixed_float16_stage1"].numbers["ratio"], 0.25)
        self.assertTrue(on_gpu["gpu/xla_stage1"].met)
        self.assertIn("on GPU:0 (Test GPU)", on_gpu["gpu/xla_stage1"].value)
        for row in gpu_rows(setup, None, "GPU:0 (Test GPU)"):
            self.assertEqual(row.value, "skipped")


class FlopCountTest(tf.test.TestCase):
    def test_conv_flops_hand_computed(self):
        # 3x3 output, 3x3 kernel, 2 -> 4 channels: 9 positions x 9 taps x 8 weight pairs x 2.
        self.assertEqual(conv_flops(3, 3, 3, 2, 4), 1296)

    def test_tiny_saccader_hand_computed(self):
        # bagnet9_tiny at 24 px, 1 channel, 5 classes (grid 4x4, widths 16/16/8/8, D = 16):
        #   stem 3x3 1->8 at 22:                   2*22*22*9*1*8                  =  69,696
        #   block 1 (22 -> 10): 1x1 8->4 at 22 30,976 + 3x3 4->4 at 10 28,800
        #                       + 1x1 4->16 12,800 + projection 8->16 25,600     =  98,176
        #   block 2 (10 -> 4):  1x1 16->8 at 10 25,600 + 3x3 8->8 at 4 18,432
        #                       + 1x1 8->32 8,192 + projection 16->32 16,384      =  68,608
        #   lowD 32->16 16,384; head 16->5 2,560
        #   attention: 1x1 32->16 16,384; 3x3 16->16 73,728; 1x1 16->8 4,096; 3x3 8->8 18,432
        #   mixer 1x1 (8+16)->16 12,288; cell step 6*16*16 = 1,536
        model = Saccader(num_classes=5, image_size=24, variant="bagnet9_tiny", input_channels=1)
        f = forward_flops(model)
        self.assertEqual(f.first_conv, 69_696)
        self.assertEqual(f.bagnet, 98_176 + 68_608 + 16_384 + 2_560)
        self.assertEqual((f.attention_first, f.attention_rest), (16_384, 73_728 + 4_096 + 18_432))
        self.assertEqual((f.mixer, f.cell_step), (12_288, 1_536))
        # Stage 1: first conv x2 (no input gradient), the rest of the BagNet x3.
        self.assertEqual(stage_flops(model, 1), 2 * 69_696 + 3 * 185_728)
        # Stage 2: frozen BagNet x1, attention's first conv x2, the rest + 12 cell steps x3.
        self.assertEqual(
            stage_flops(model, 2), 255_424 + 2 * 16_384 + 3 * (96_256 + 12_288 + 12 * 1_536)
        )
        # Stage 3: everything x3 with 6 cell steps, except the first conv x2.
        self.assertEqual(
            stage_flops(model, 3), 2 * 69_696 + 3 * (185_728 + 16_384 + 96_256 + 12_288 + 6 * 1_536)
        )

    def test_forward_count_matches_the_convolutions_in_the_graph(self):
        # The architecture-derived count equals the FLOPs of every convolution and matmul
        # TensorFlow runs in an inference call. A dilated conv (the attention network's) runs as
        # SpaceToBatchND -> Conv2D -> BatchToSpaceND: it is counted on its real output grid, the
        # BatchToSpaceND's, without the space-to-batch padding.
        for variant, size, channels in (
            ("bagnet9_tiny", 24, 1),
            ("bagnet9_tiny", 27, 1),
            ("bagnet29_small", 60, 1),
        ):
            model = Saccader(
                num_classes=10, image_size=size, variant=variant, input_channels=channels
            )
            model.build()
            graph = (
                tf.function(lambda x, m=model: m(x, training=False))
                .get_concrete_function(tf.TensorSpec([1, size, size, channels], tf.float32))
                .graph
            )
            total = 0
            for op in graph.get_operations():
                if op.type == "Conv2D":
                    out, kernel = op.outputs[0], op.inputs[1].shape
                    if op.inputs[0].op.type == "SpaceToBatchND":
                        (back,) = [c for c in out.consumers() if c.type == "BatchToSpaceND"]
                        out = back.outputs[0]
                    out = out.shape
                    total += 2 * int(np.prod(out[:3])) * int(np.prod(kernel))
                elif op.type == "MatMul":
                    (m, k), n = op.inputs[0].shape, op.inputs[1].shape[1]
                    total += 2 * m * k * n
            with self.subTest(variant=variant):
                self.assertEqual(total, forward_flops(model).saccader(0))


class TargetRowsTest(tf.test.TestCase):
    def test_stage_ratio_and_peak_fraction(self):
        setup = benchmark.make_plan(benchmark.parse_args([])).default
        timings = {
            1: StepTiming(1, 64, 0.2, 100),
            2: StepTiming(2, 64, 0.1, 80),
            3: StepTiming(3, 64, 0.45, 200),
        }
        rows = {
            row.key: row for row in table.training_rows("default", setup, timings, peak_flops=1e5)
        }
        ratio = rows["default/stage3_over_stage1"]
        self.assertAllClose(ratio.numbers["limit"], 2.0 * 1.15)
        self.assertTrue(ratio.met)  # 2.25 <= 2.30
        fraction = rows["default/stage1_peak_fraction"]
        self.assertAllClose(fraction.numbers["fraction"], 100 * 64 / 0.2 / 1e5)  # 0.32
        self.assertFalse(fraction.met)
        slow = {**timings, 3: StepTiming(3, 64, 0.47, 200)}
        rows = {row.key: row for row in table.training_rows("default", setup, slow, peak_flops=1e5)}
        self.assertFalse(rows["default/stage3_over_stage1"].met)  # 2.35 > 2.30

    def test_pipeline_and_serving(self):
        setup = benchmark.make_plan(benchmark.parse_args([])).default
        stage3 = StepTiming(3, 64, 0.5, 1)  # 128 images/s
        self.assertTrue(table.pipeline_row(setup, 384.0, stage3).met)
        self.assertFalse(table.pipeline_row(setup, 383.0, stage3).met)
        self.assertIsNone(table.pipeline_row(setup, 383.0, None).met)
        rows = table.serving_rows(
            setup,
            [
                ServingLatency(1, 0.0011, 0.001, 0.0, True),
                ServingLatency(32, 0.0111, 0.01, 0.0, True),
            ],
            (1, 32),
        )
        self.assertEqual([row.met for row in rows], [True, False])

    def test_jpeg_pipeline_against_decoding(self):
        setup = quick_plan().jpeg
        rows = table.jpeg_rows(setup, JpegTimings(500.0, 400.0, 900.0, 700.0, 30_000.0))
        self.assertEqual([row.key for row in rows], ["jpeg/decode", "jpeg/pipeline"])
        self.assertAllClose(rows[1].numbers["ratio"], 0.8)
        self.assertTrue(rows[1].met)
        self.assertIn("0.80× (400 vs. 500 images/s per core; 700 images/s wall)", rows[1].value)
        self.assertIn("500 images/s per core (900 images/s wall; 30 KB a JPEG)", rows[0].value)
        self.assertFalse(table.jpeg_rows(setup, JpegTimings(500.0, 399.0, 1, 1, 1))[1].met)
        self.assertEqual([row.value for row in table.jpeg_rows(setup, None)], ["skipped"] * 2)
