"""Rows and the printed table of the stage-parts measurement (`stage_parts.StageParts`).

Targets (ratios of step times measured in one process, interleaved): at 60 px, stage 2 ≤ 0.6 ×
stage 1 and stage 3 ≤ 1.3 × stage 1; at 100 px, stage 2 ≤ 0.6 × and stage 3 ≤ 1.0 ×. The quick
plan's two tiny sizes take the targets of 60 and 100 px in turn. Where a target is missed, the
parts table (docs/results/stage_profile.md) says which part bounds the step.
"""

from benchmarks.report import Row, skipped_row
from benchmarks.stage_parts import DILATED, STAGE_PARTS

REST = "rest: optimizer update, weight decay, metrics, dispatch (step − parts)"


def stage_ratio_rows(index, ratio_setup, parts):
    """The stage-2 and stage-3 over stage-1 rows of one `plan.StageRatioSetup` (`parts`: its
    `StageParts`, or `None` when the `stages` part was skipped); `index` numbers the keys."""
    setup, targets = ratio_setup.setup, {2: ratio_setup.stage2_target, 3: ratio_setup.stage3_target}
    rows = []
    for stage in (2, 3):
        key = f"stages{index}/stage{stage}_over_stage1"
        name = f"{setup.label}: stage{stage}/stage1 ratio (step times, interleaved)"
        target = f"≤ {targets[stage]}"
        if parts is None:
            rows.append(skipped_row(key, name, target))
            continue
        ratio = parts.ratio(stage)
        rows.append(
            Row(
                key=key,
                measurement=name,
                value=(
                    f"{ratio:.2f} ({parts.steps[stage] * 1000:.0f} / "
                    f"{parts.steps[1] * 1000:.0f} ms)"
                ),
                target=target,
                met=ratio <= targets[stage],
                numbers={"ratio": ratio, "target": targets[stage], "parts": parts.to_numbers()},
            )
        )
    return rows


def format_stage_parts(parts):
    """A Markdown table of one `StageParts`: each part's ms and share of its stage's step."""
    lines = [
        f"{parts.label} (grid {parts.grid}×{parts.grid}; medians of {parts.rounds} interleaved "
        "rounds):",
        "",
        "| stage | part | ms | share of the stage's step | / stage-1 step |",
        "|---|---|---|---|---|",
    ]
    one = parts.steps[1]
    lines.append(f"| 1 | whole step | {one * 1000:.1f} | 100% | 1.00 |")
    for stage in (2, 3):
        step = parts.steps[stage]
        values = [(name, parts.parts[stage][name]) for name in STAGE_PARTS[stage]]
        values.append((REST, step - sum(v for _, v in values)))
        for name, seconds in values:
            lines.append(
                f"| {stage} | {name} | {seconds * 1000:.1f} | {seconds / step:.0%} | "
                f"{seconds / one:.2f} |"
            )
        lines.append(f"| {stage} | **whole step** | {step * 1000:.1f} | 100% | {step / one:.2f} |")
    patch, standard = (parts.dilated[name] for name in DILATED)
    lines += [
        "",
        f"The attention network's dilated 3×3 convolution forward + backward on the "
        f"{parts.grid}×{parts.grid} grid: patch matmul {patch * 1000:.1f} ms, TensorFlow's "
        f"dilated Conv2D {standard * 1000:.1f} ms ({standard / patch:.2f}× the patch matmul).",
    ]
    return "\n".join(lines)
