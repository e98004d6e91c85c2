"""`python -m benchmarks --attention_widths=...`: the stages part's models get those widths."""

import io

import pytest

from benchmarks import cli as benchmark
from benchmarks.runner import build_saccader


def _plan(*args):
    return benchmark.make_plan(benchmark.parse_args(["--quick", *args]))


def test_the_stage_part_models_take_the_widths_and_the_rest_keeps_the_default():
    plan = _plan("--attention_widths=4,6,2,3")
    for ratio in plan.stage_ratios:
        assert ratio.setup.attention_widths == (4, 6, 2, 3)
        assert ratio.setup.label.endswith(", attention widths 4,6,2,3")
    assert plan.default.attention_widths == ()
    saccader = build_saccader(plan.stage_ratios[0].setup)
    kernels = [tuple(conv.kernel.shape)[-1] for conv in saccader.attention_network.convs]
    assert kernels == [4, 6, 2, 3]
    assert _plan().stage_ratios[0].setup.attention_widths == ()  # the model's own default


@pytest.mark.parametrize("value", ["4,4,2", "4,0,2,2", "wide"])
def test_bad_widths_are_one_error_line(value):
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(
            ["--quick", f"--attention_widths={value}"], stdout=io.StringIO(), stderr=stderr
        )
    assert exit_info.value.code == 2
    assert stderr.getvalue() == (
        "error: `--attention_widths` takes four positive widths, e.g. 32,32,16,16. "
        f"Received: --attention_widths={value}\n"
    )
