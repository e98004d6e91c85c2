"""Rows of the benchmark table: a measurement, its value, its target and whether it is met."""

import dataclasses
import json
from typing import Optional

COLUMNS = ("measurement", "value", "target", "met")


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the benchmark table.

    Attributes:
        key: stable identifier (for JSON readers and tests), e.g. `"default/stage1"`.
        measurement: what was measured, for people.
        value: the measured value as text (`"skipped"` when the part did not run).
        target: the target as text, or `""` when the row has none.
        met: `True`/`False` against the target, `None` when there is no target or no value.
        numbers: the raw numbers behind the row (for the JSON output).
    """

    key: str
    measurement: str
    value: str
    target: str = ""
    met: Optional[bool] = None
    numbers: dict = dataclasses.field(default_factory=dict)

    @property
    def met_text(self):
        if self.value == SKIPPED:
            return "skipped"
        if self.met is None:
            return "—" if not self.target else "n/a"
        return "yes" if self.met else "**no**"


SKIPPED = "skipped"


def skipped_row(key, measurement, target=""):
    """A row of a part that did not run (`--skip`)."""
    return Row(key=key, measurement=measurement, value=SKIPPED, target=target)


def format_table(rows):
    """A Markdown table of `rows` (one header line, one separator line, one line per row)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (row.measurement, row.value, row.target or "—", row.met_text)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def rows_to_json(rows, header):
    """JSON text: `{"header": header, "rows": [row dicts]}` (every field of `Row`)."""
    return json.dumps(
        {"header": header, "rows": [dataclasses.asdict(row) for row in rows]}, indent=2
    )
