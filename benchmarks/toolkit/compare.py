"""``mixillo bench compare A.json B.json``: each metric of two results, the change and whether it is better.

Which way is better follows from the metric's unit: latencies (``_ms``) and errors, stalls, failures are
better lower; rates (``per_s``) of anything else better higher; levels and counts have no direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.toolkit.report import check

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
