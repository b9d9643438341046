"""The tables a benchmark script prints, read back from its output: what ``mixillo bench <script>`` stores.

The scripts print GitHub-flavoured markdown tables (a ``|``-separated header, a ``|---|`` delimiter row, then
rows; https://github.github.com/gfm/#tables-extension-; :func:`markdown_header`, :func:`markdown_row`) and a
few print the same shape with a line of dashes
as the delimiter (``compositor``). Each becomes a :class:`Table` of strings; a cell is a number when it reads
as one once thousands separators and a unit sign (``%``, ``x``) are dropped (``3,196`` is 3196, ``44.9x`` is
44.9). Rows of two results line up by their key: the leading cells that are not numbers (``backend``,
``mode``...), or the first cell when every column is a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DELIMITER_CELL = re.compile(r"^:?-+:?$")  # GFM: one hyphen or more, colons for alignment
DASHES = re.compile(r"^-{3,}$")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Table:
    """One printed table: the line above it (``title``, may be empty), its header and its rows of cells."""

    title: str
    columns: list[str]
    rows: list[list[str]]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        return cls(str(data.get("title", "")), [str(c) for c in data["columns"]],
                   [[str(c) for c in row] for row in data["rows"]])

    def numeric_columns(self) -> list[int]:
        """Columns whose every non-empty cell is a number (and at least one is)."""
        found = []
        for i in range(len(self.columns)):
            cells = [row[i] for row in self.rows if i < len(row) and row[i].strip()]
            if cells and all(number(c) is not None for c in cells):
                found.append(i)
        return found

    def key_width(self) -> int:
        """How many leading columns name a row: those before the first numeric column, at least one."""
        numeric = self.numeric_columns()
        return max(1, min(numeric, default=len(self.columns)))

    def key(self, row: list[str]) -> tuple[str, ...]:
        return tuple(c.strip() for c in row[: self.key_width()])


def number(cell: str) -> float | None:
    """``cell`` as a number: ``1,044`` → 1044.0, ``0.27%`` → 0.27, ``44.9x`` → 44.9; None if it is not one."""
    text = cell.strip().replace(",", "").replace("\u202f", "")
    text = text.removesuffix("%").removesuffix("x").strip()
    return float(text) if NUMBER.match(text) else None


def markdown_header(columns: list[str]) -> str:
    """A GFM table's header and delimiter rows."""
    return "| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|"


def markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cells(line: str) -> list[str]:
    """A table line's cells: split on ``|``, the optional outer pipes dropped (GFM allows both)."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    return [c.strip() for c in text.split("|")]


def _is_delimiter(line: str, width: int) -> bool:
    text = line.strip()
    if DASHES.match(text):
        return True
    cells = _cells(text)
    return "|" in text and len(cells) == width and all(DELIMITER_CELL.match(c.replace(" ", "")) for c in cells)


def parse_tables(text: str) -> list[Table]:
    """Every table in ``text``, in order: a header line with ``|``, a delimiter line, then the rows (lines
    with ``|`` and as many cells as the header) up to the first line that is not one."""
    lines = text.splitlines()
    tables: list[Table] = []
    i = 0
    while i < len(lines) - 1:
        line = lines[i]
        if "|" in line and _is_delimiter(lines[i + 1], len(_cells(line))):
            columns = _cells(line)
            title = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "") if i else ""
            if "|" in title:  # the row above is another table's, not a title
                title = ""
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and "|" in lines[i] and len(_cells(lines[i])) == len(columns):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append(Table(title, columns, rows))
        else:
            i += 1
    return tables


def result_tables(result: dict[str, Any]) -> list[Table]:
    """The tables of a result document (none for a load scenario's)."""
    return [Table.from_json(t) for t in result.get("tables", [])]


MAX_BARS = 40  # a table of more rows than this is read as a table, not as a chart


def chart_columns(table: Table) -> list[int]:
    """The numeric columns worth a bar chart: measured values, not the parameters every row shares (a column
    whose cells are all the same, such as ``buyers``, or that names the rows)."""
    if not 1 < len(table.rows) <= MAX_BARS:
        return []
    keys = table.key_width()
    return [i for i in table.numeric_columns()
            if i >= keys and len({number(row[i]) for row in table.rows if i < len(row)}) > 1]


def bar_chart(table: Table) -> str | None:
    """One PNG data URI for ``table``: a panel of horizontal bars per chart column, a bar per row (labelled by
    its key); None when no column is worth one."""
    columns = chart_columns(table)
    if not columns:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from benchmarks.toolkit.report import _png

    labels = [" / ".join(table.key(row)) for row in table.rows]
    height = 0.3 + 0.22 * len(labels)
    fig, axes = plt.subplots(1, len(columns), figsize=(min(3.2 * len(columns), 16), 0.8 + height), squeeze=False,
                             sharey=True)
    for ax, column in zip(axes[0], columns, strict=True):
        values = [number(row[column]) or 0.0 for row in table.rows]
        ax.barh(range(len(labels)), values)
        ax.set_title(table.columns[column], fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_yticks(range(len(labels)), labels)
    axes[0, 0].invert_yaxis()  # the first row on top, as in the table
    fig.tight_layout()
    uri = _png(fig)
    plt.close(fig)
    return uri


def tables_html(result: dict[str, Any]) -> str:
    """The result's tables as HTML (every cell escaped), each followed by its bar chart when it has one."""
    import html

    parts = []
    for table in result_tables(result):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
        title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
        chart = bar_chart(table)
        img = f"<img alt=\"{html.escape(table.title or 'table')}\" src=\"{chart}\">" if chart else ""
        parts.append(f"{title}<table class=\"script\"><tr>{head}</tr>{body}</table>{img}")
    return "<h2>Tables</h2>" + "".join(parts) if parts else ""
