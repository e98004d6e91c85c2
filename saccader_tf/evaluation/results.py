"""The result of `evaluate_model`: a record of rows, a text table, and JSON / CSV files."""

import csv
import dataclasses
import io
import json
import os
from typing import Optional, Tuple

from saccader_tf.evaluation.paired import PAIRED_COLUMNS, PAIRED_LEGEND, format_p_value
from saccader_tf.evaluation.stage1_network import FINAL, NETWORK_LEGEND, STAGE1
from saccader_tf.model_dir import files

CLASSNET = "classnet"
"""Label of rows measured on a Saccader-ClassNet (its classifier on the final Saccader's
glimpses)."""
CLASSNET_LEGEND = (
    "network: classnet = the Saccader-ClassNet (its classifier's logits averaged "
    "over the final Saccader's glimpses; final = the Saccader's own logits)"
)
"""The legend line under tables holding `classnet` rows."""
ROW_COLUMNS = (
    "policy",
    "network",
    "glimpses",
    "top1",
    "top5",
    "coverage",
    "hit_first",
    "hit_any",
    *PAIRED_COLUMNS,
)


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """Accuracy, coverage, hit rates and the occlusion check of one evaluation.

    Attributes:
        examples: number of evaluated images.
        max_glimpses: the largest T evaluated (capped at the number of grid cells).
        num_cells: N, the number of grid cells.
        rows: one dict per (policy, network, T) with the keys of `ROW_COLUMNS`; accuracies and
            rates are fractions in [0, 1]. `network` is `"final"` (the evaluated model),
            `"stage1"` (the stage-1 BagNet, for the `full` / `ordered_logits` baselines) or
            `"classnet"` (a Saccader-ClassNet on the final Saccader's glimpses). The `full`
            row has `glimpses=None` (the whole image); `hit_first` / `hit_any` are `None` without
            object boxes and for `full`. `only_learned` / `only_this` / `p_value`: the paired
            comparison with the learned policy on the final network at the same T (`full`: the
            largest T), `None` in that row and without a learned policy
            (`saccader_tf.evaluation.paired.with_paired_columns`).
        occlusion: one dict per T with the keys `glimpses`, `chosen_top1`, `chosen_top5`,
            `random_top1`, `random_top5`: accuracy of the full-image BagNet with the learned
            policy's first T cells blanked vs. T random cells blanked.
        fill_value: the value blanked pixels were set to.
        occlusion_network: the BagNet that judged the occlusion check, `"stage1"` or `"final"`.
        per_class: the per-class record (`saccader_tf.evaluation.per_class.per_class_accuracy`;
            written to its own file, not in `as_dict`), or `None`.
    """

    examples: int
    max_glimpses: int
    num_cells: int
    rows: Tuple[dict, ...]
    occlusion: Tuple[dict, ...] = ()
    fill_value: Optional[object] = 0.0
    occlusion_network: str = FINAL
    per_class: Optional[dict] = None

    def row(self, policy, glimpses=None, network=FINAL):
        """The row of `policy` with `glimpses` T (`None` for `full`) measured on `network`."""
        for row in self.rows:
            if (
                row["policy"] == policy
                and row.get("network", FINAL) == network
                and (policy == "full" or row["glimpses"] == glimpses)
            ):
                return row
        raise KeyError(f"No row for policy={policy!r}, glimpses={glimpses!r}, network={network!r}")

    def as_dict(self):
        """A JSON-serialisable dict of every field."""
        return {
            "examples": self.examples,
            "max_glimpses": self.max_glimpses,
            "num_cells": self.num_cells,
            "fill_value": _plain(self.fill_value),
            "rows": [dict(r) for r in self.rows],
            "occlusion": [dict(r) for r in self.occlusion],
            "occlusion_network": self.occlusion_network,
        }


def _plain(value):
    """Numpy scalars/arrays to Python floats/lists (for JSON)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _percent(value):
    return "-" if value is None else f"{100 * value:.2f}%"


def format_table(result):
    """A printable text table: one line per policy × T, then the occlusion check.

    Args:
        result: an `EvaluationResult`.

    Returns:
        A multi-line string.
    """
    lines = [
        f"{'policy':<16}{'network':<9}{'glimpses':>9}{'top1':>9}{'top5':>9}{'coverage':>10}"
        f"{'hit_first':>10}{'hit_any':>9}"
    ]
    paired = any(row.get("p_value") is not None for row in result.rows)
    if paired:
        lines[0] += f"{'only_learned':>14}{'only_this':>11}{'p':>8}"
    for row in result.rows:
        glimpses = "all" if row["glimpses"] is None else str(row["glimpses"])
        line = (
            f"{row['policy']:<16}{row.get('network', FINAL):<9}{glimpses:>9}"
            f"{_percent(row['top1']):>9}{_percent(row['top5']):>9}"
            f"{_percent(row['coverage']):>10}{_percent(row['hit_first']):>10}"
            f"{_percent(row['hit_any']):>9}"
        )
        lines.append(line + (_paired_cells(row) if paired else ""))
    if result.occlusion:
        judge = "stage-1 BagNet" if result.occlusion_network == STAGE1 else "final model's BagNet"
        lines += [
            "",
            f"occlusion check: full-image top-1 of the {judge} with T cells blanked",
            f"{'glimpses':>9}{'learned cells':>15}{'random cells':>14}",
        ]
        for row in result.occlusion:
            lines.append(
                f"{row['glimpses']:>9}{_percent(row['chosen_top1']):>15}"
                f"{_percent(row['random_top1']):>14}"
            )
    lines.append(f"({result.examples} test images)")
    lines.append(NETWORK_LEGEND)
    if any(row.get("network") == CLASSNET for row in result.rows):
        lines.append(CLASSNET_LEGEND)
    if paired:
        lines.append(PAIRED_LEGEND + " (at the same T; full: the largest T)")
    return "\n".join(lines)


def _paired_cells(row):
    """The `only_learned`, `only_this` and `p` cells of an evaluation row (`-` when unpaired)."""
    if row.get("p_value") is None:
        return f"{'-':>14}{'-':>11}{'-':>8}"
    return f"{row['only_learned']:>14}{row['only_this']:>11}{format_p_value(row['p_value']):>8}"


def write_results(result, directory):
    """Writes `evaluation.json` (everything) and `evaluation.csv` (one row per policy × T).

    In the CSV the `full` row has `glimpses=all` and missing hit rates are empty cells.

    Args:
        result: an `EvaluationResult`.
        directory: output directory (created when missing; a local path or a URL,
            `saccader_tf.model_dir.files`).

    Returns:
        `{"json": path, "csv": path}`.
    """
    files.makedirs(directory)
    paths = {
        "json": os.path.join(directory, "evaluation.json"),
        "csv": os.path.join(directory, "evaluation.csv"),
    }
    files.write_text(paths["json"], json.dumps(result.as_dict(), indent=2))
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=ROW_COLUMNS)
    writer.writeheader()
    for row in result.rows:
        cells = {key: ("" if row.get(key) is None else row[key]) for key in ROW_COLUMNS}
        if row["glimpses"] is None:
            cells["glimpses"] = "all"
        writer.writerow(cells)
    files.write_text(paths["csv"], table.getvalue())
    return paths
