"""``mixillo bench compare A.json B.json``: each metric of two results, the change and whether it is better.

Which way is better follows from the metric's unit: latencies (``_ms``) and errors, stalls, failures are
better lower; rates (``per_s``) of anything else better higher; levels and counts have no direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.toolkit.report import check
from benchmarks.toolkit.tables import Table, number, result_tables

WORSE_WHEN_MORE = ("error", "stall", "fail", "timeout", "lost", "late", "refused")


@dataclass(frozen=True)
class Change:
    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def percent(self) -> float | None:
        if self.delta is None or not self.a:
            return None
        return 100 * self.delta / abs(self.a)

    @property
    def verdict(self) -> str:
        """"better", "worse", "same" or "" (no direction, or one side missing)."""
        if self.delta is None:
            return ""
        bad = any(word in self.metric for word in WORSE_WHEN_MORE)
        if self.metric.endswith("_ms") or (bad and self.metric.endswith((".per_s", ".count"))):
            lower_better = True
        elif self.metric.endswith(".per_s"):
            lower_better = False
        else:
            return ""
        if self.delta == 0 or (self.percent is not None and abs(self.percent) < 1):
            return "same"
        return "better" if (self.delta < 0) == lower_better else "worse"


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """One Change per metric present in either result, in A's order then B's new ones."""
    ma, mb = check(a)["metrics"], check(b)["metrics"]
    names = list(ma) + [n for n in mb if n not in ma]
    return [Change(n, ma.get(n), mb.get(n)) for n in names]


def _fmt(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+,.2f}" if sign else f"{value:,.2f}"


def render(a: dict[str, Any], b: dict[str, Any], a_name: str = "A", b_name: str = "B") -> Any:
    """A rich Table of ``compare(a, b)``, headed by both runs' scenario, commit and load average."""
    from rich.table import Table

    def label(name: str, r: dict[str, Any]) -> str:
        env = r.get("env", {})
        load = env.get("load_avg") or ["?"]
        return f"{name}\n{r['scenario']} @ {env.get('git_commit') or '?'}\nload {load[0]}"

    table = Table(title="mixillo bench compare", show_lines=False)
    table.add_column("metric")
    table.add_column(label(a_name, a), justify="right")
    table.add_column(label(b_name, b), justify="right")
    table.add_column("Δ", justify="right")
    table.add_column("Δ %", justify="right")
    table.add_column("")
    colours = {"better": "green", "worse": "red"}
    for change in compare(a, b):
        verdict = change.verdict
        style = colours.get(verdict)
        table.add_row(change.metric, _fmt(change.a), _fmt(change.b), _fmt(change.delta, True),
                      _fmt(change.percent, True), f"[{style}]{verdict}[/]" if style else verdict)
    return table


def table_pairs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Table | None, Table | None]]:
    """The tables of two script results, paired: by title and header when one matches, else by position."""
    ta, tb = result_tables(a), result_tables(b)
    pairs: list[tuple[Table | None, Table | None]] = []
    unmatched = list(tb)
    for i, table in enumerate(ta):
        same = next((t for t in unmatched if (t.title, t.columns) == (table.title, table.columns)), None)
        if same is None and i < len(tb) and tb[i] in unmatched and tb[i].columns == table.columns:
            same = tb[i]
        if same is not None:
            unmatched.remove(same)
        pairs.append((table, same))
    return pairs + [(None, t) for t in unmatched]


def table_rows(a: Table | None, b: Table | None) -> list[tuple[tuple[str, ...], list[Change]]]:
    """Row by row (lined up by key, A's order then B's new rows), a Change per numeric column of A (of B
    when A lacks the table); a cell that is no number on one side is None there."""
    shape = a or b
    assert shape is not None
    numeric = shape.numeric_columns()
    rows_a = {shape.key(r): r for r in (a.rows if a else [])}
    rows_b = {shape.key(r): r for r in (b.rows if b else [])}
    keys = list(rows_a) + [k for k in rows_b if k not in rows_a]

    def cell(row: list[str] | None, i: int) -> float | None:
        return number(row[i]) if row is not None and i < len(row) else None

    return [(key, [Change(shape.columns[i], cell(rows_a.get(key), i), cell(rows_b.get(key), i)) for i in numeric])
            for key in keys]


def render_tables(a: dict[str, Any], b: dict[str, Any], a_name: str = "A", b_name: str = "B") -> list[Any]:
    """A rich Table per pair of printed tables: each row's key, then per numeric column ``A → B`` and the
    change in percent (which way is better is the script's to say, so no verdict)."""
    from rich.table import Table as RichTable

    out = []
    for ta, tb in table_pairs(a, b):
        shape = ta or tb
        assert shape is not None
        title = shape.title or "table"
        side = "" if ta and tb else f" (only in {a_name if ta else b_name})"
        view = RichTable(title=f"{title}{side}: {a_name} → {b_name}")
        for column in shape.columns[: shape.key_width()]:
            view.add_column(column)
        rows = table_rows(ta, tb)
        for change in rows[0][1] if rows else []:
            view.add_column(change.metric, justify="right")
        for key, changes in rows:
            cells = [f"{_fmt(c.a)} → {_fmt(c.b)} ({_fmt(c.percent, True)} %)" if c.percent is not None
                     else f"{_fmt(c.a)} → {_fmt(c.b)}" for c in changes]
            view.add_row(*key, *cells)
        out.append(view)
    return out
