"""``mixillo bench compare``: the change of every metric, its percentage and which way is better."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from benchmarks.toolkit.compare import Change, compare, render
from benchmarks.toolkit.report import SCHEMA


def doc(metrics: dict[str, float], commit: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "scenario": "api", "metrics": metrics, "series": {}, "histograms": {},
            "env": {"git_commit": commit, "load_avg": [0.7, 0.5, 0.4]}}


A = doc({"feed.per_s": 200.0, "feed.p99_ms": 40.0, "errors.count": 2, "viewers.last": 10, "gone.per_s": 1.0},
        "aaa")
B = doc({"feed.per_s": 300.0, "feed.p99_ms": 50.0, "errors.count": 2, "viewers.last": 12, "new.p50_ms": 3.0},
        "bbb")


def test_changes_with_percent_and_verdict() -> None:
    changes = {c.metric: c for c in compare(A, B)}
    assert list(changes) == ["feed.per_s", "feed.p99_ms", "errors.count", "viewers.last", "gone.per_s", "new.p50_ms"]
    rate, p99 = changes["feed.per_s"], changes["feed.p99_ms"]
    assert (rate.delta, rate.percent, rate.verdict) == (100.0, 50.0, "better")
    assert (p99.delta, p99.percent, p99.verdict) == (10.0, 25.0, "worse")
    assert changes["errors.count"].verdict == "same"
    assert changes["viewers.last"].verdict == ""  # a level has no better direction
    assert changes["gone.per_s"].delta is None and changes["new.p50_ms"].a is None


@pytest.mark.parametrize(("metric", "a", "b", "verdict"), [
    ("errors.per_s", 1.0, 3.0, "worse"),
    ("hls.stall.count", 5, 1, "better"),
    ("gift.delivery.per_s", 100.0, 90.0, "worse"),
    ("feed.p50_ms", 10.0, 10.05, "same"),
])
def test_direction_follows_the_unit(metric: str, a: float, b: float, verdict: str) -> None:
    assert Change(metric, a, b).verdict == verdict


def test_rendered_table_shows_both_runs() -> None:
    console = Console(record=True, width=160)
    console.print(render(A, B, "a.json", "b.json"))
    text = console.export_text()
    assert "a.json" in text and "bbb" in text and "load 0.7" in text
    assert "+50.00" in text and "better" in text and "worse" in text
