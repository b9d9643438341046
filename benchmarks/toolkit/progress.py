"""Live progress of a run in the terminal: a rich table redrawn every second from the recorder."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from benchmarks.toolkit.scenario import Run


def table(run: Run) -> Any:
    from rich.table import Table

    recorder = run.recorder
    if not run.started:
        title = f"{run.options.scenario}: setting up"
    else:
        title = f"{run.options.scenario}: {min(recorder.elapsed(), run.duration):.0f} / {run.duration:.0f} s"
    grid = Table(title=title, title_justify="left")
    for column in ("metric", "total", "last s", "p50 ms", "p99 ms"):
        grid.add_column(column, justify="left" if column == "metric" else "right")
    last = max(0, int(recorder.elapsed()) - 1)
    for name, samples in sorted(recorder.latencies.items()):
        values = np.asarray(samples) * 1000
        p50, p99 = np.percentile(values, (50, 99)) if len(values) else (float("nan"), float("nan"))
        grid.add_row(name, str(len(samples)), str(len(recorder.latency_seconds[name].get(last, []))),
                     f"{p50:.1f}", f"{p99:.1f}")
    for name, per_second in sorted(recorder.counters.items()):
        grid.add_row(name, str(recorder.total(name)), str(per_second.get(last, 0)), "", "")
    for name, levels in sorted(recorder.gauges.items()):
        grid.add_row(name, f"{levels[max(levels)]:g}" if levels else "", "", "", "")
    return grid


async def show(run: Run, quiet: bool) -> None:
    """Redraw until cancelled (the runner cancels it when the scenario returns)."""
    if quiet:
        await asyncio.Event().wait()
    from rich.console import Console
    from rich.live import Live

    with Live(table(run), console=Console(stderr=True), refresh_per_second=2, transient=False) as live:
        while True:
            await asyncio.sleep(1)
            live.update(table(run))
