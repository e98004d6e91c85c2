"""The race's table, header and JSON (`python -m benchmarks --race`)."""

import json
import os


def mark_times(budget_s, evaluations):
    """The nominal evaluation times: 0, `budget_s / evaluations`, ..., `budget_s`."""
    return [budget_s * k / evaluations for k in range(evaluations + 1)]


def error_at(points, seconds):
    """The error of the first evaluation made at or after `seconds` (the last one if none is):
    the race evaluates at the first step that ends past each nominal time."""
    for point in points:
        if point["seconds"] >= seconds:
            return point["error"]
    return points[-1]["error"]


def time_to_error(points, target):
    """Seconds of training at the first evaluation whose error is <= `target`, or `None`.

    Measured at evaluations only: the true time lies between the previous evaluation and this one.
    """
    for point in points:
        if point["error"] <= target:
            return point["seconds"]
    return None


def kernel_settings(jit_compile, eager, precision):
    """`kernels: TF_ENABLE_ONEDNN_OPTS=..., XLA off, precision float32` (+ eager in quick mode)."""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    steps = ", training steps run eagerly (quick mode)" if eager else ""
    return (
        f"kernels: TF_ENABLE_ONEDNN_OPTS={onednn}, XLA {'on' if jit_compile else 'off'}, "
        f"precision {precision}{steps}"
    )


def race_header(*, budget_s, source, batch_size, machine_line, kernels_line):
    """The lines above the table (and on the plot): budget, data, machine, kernel settings."""
    return [
        f"Time-to-accuracy race: {budget_s:g} s of training per contender (warm-up and test "
        "evaluations not counted)",
        f"data: {source.name} {source.image_size} px, {source.train_size} training / "
        f"{source.eval_size} test images, batch {batch_size}",
        machine_line,
        kernels_line,
    ]


def _percent(value):
    return f"{100 * value:.1f}%"


def format_race_table(results, *, budget_s, evaluations, targets):
    """Markdown table: contender, params, steps, seconds of training (the clock), of warm-up and of
    evaluation (both not counted), the test error at each nominal time, and the training time to
    reach each error `target` (— when not reached)."""
    marks = mark_times(budget_s, evaluations)
    head = (
        ["contender", "params", "steps", "train s", "warm-up s", "eval s"]
        + [f"error at {m:.3g} s" for m in marks[:-1]]
        + [f"error at {marks[-1]:.3g} s (end)"]
        + [f"time to ≤ {_percent(t)}" for t in targets]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in results:
        points = result["points"]
        reached = [time_to_error(points, target) for target in targets]
        cells = (
            [
                result["label"],
                f"{result['params']:,}",
                str(result["steps"]),
                f"{result['train_seconds']:.1f}",
                f"{result['warmup_seconds']:.1f}",
                f"{result['eval_seconds']:.1f}",
            ]
            + [_percent(error_at(points, m)) for m in marks]
            + ["—" if s is None else f"{s:.3g} s" for s in reached]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def race_to_json(results, header):
    """The results and a header dict as indented JSON."""
    return json.dumps({"header": header, "contenders": results}, indent=2)
