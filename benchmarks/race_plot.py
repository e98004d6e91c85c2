"""The race's one picture: test error vs. seconds of training, every contender on one axis.

matplotlib is imported inside `plot_race` (Agg backend), so importing this module costs nothing.
"""

import os
import textwrap

_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)  # % on the log axis


def plot_race(results, path, *, header_lines, targets=()):
    """Writes a PNG of test error (log scale, %) against training seconds to `path`.

    Args:
        results: `run_race`'s results (each with `label` and `points` of `seconds` and `error`).
        path: the PNG file to write (its folder is created).
        header_lines: the title lines (budget, machine, kernel settings).
        targets: error levels drawn as grey dashed lines (the table's "time to" columns).

    Returns:
        `path`.
    """
    import matplotlib  # noqa: PLC0415 (only when drawing)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    figure, axis = plt.subplots(figsize=(8, 5), dpi=80)
    for target in targets:
        axis.axhline(100 * target, color="0.75", linestyle="--", linewidth=0.8)
    for result in results:
        seconds = [point["seconds"] for point in result["points"]]
        errors = [max(100 * point["error"], 0.05) for point in result["points"]]  # 0% on a log axis
        axis.plot(seconds, errors, marker="o", markersize=3, linewidth=1.5, label=result["label"])
    axis.set_yscale("log")
    lowest = min(
        [max(100 * p["error"], 0.05) for r in results for p in r["points"]]
        + [100 * target for target in targets]
    )
    axis.set_ylim(lowest / 1.5, 110)
    axis.set_yticks([tick for tick in _TICKS if tick >= lowest / 1.5])
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
    axis.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    axis.set_xlabel("seconds of training (warm-up and test evaluations not counted)")
    axis.set_ylabel("test error (top-1)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    title = [part for line in header_lines for part in textwrap.wrap(line, 105)]
    axis.set_title("\n".join(title), fontsize=7, loc="left")
    figure.tight_layout()
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
