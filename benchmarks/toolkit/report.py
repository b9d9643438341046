"""A run's result: a versioned JSON document, and an HTML report with the charts embedded as PNG data URIs.

Both functions are pure over the result dict (``render_html`` draws with matplotlib's Agg backend, no
display), so a report can be rebuilt from a JSON file later: ``mixillo bench report result.json``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.toolkit.recorder import Recorder

SCHEMA = "mixillo-bench/1"
ROOT = Path(__file__).resolve().parents[2]


def environment() -> dict[str, Any]:
    """Where the numbers come from: interpreter, machine, load when the run ended, commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()], "git_commit": commit}


def build_result(scenario: str, params: dict[str, Any], target: str, started_at: dt.datetime, duration: float,
                 recorder: Recorder, client_cpu_s: float, env: dict[str, Any] | None = None,
                 notes: list[str] | None = None) -> dict[str, Any]:
    """The JSON document of one run (schema ``mixillo-bench/1``)."""
    return {
        "schema": SCHEMA,
        "scenario": scenario,
        "params": params,
        "target": target,
        "started_at": started_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(duration, 3),
        "env": env if env is not None else environment(),
        "client_cpu_s": round(client_cpu_s, 3),
        "metrics": recorder.metrics(duration),
        "series": recorder.series(max(1, math.ceil(duration), recorder.seconds())),
        "histograms": recorder.histograms(),
        "notes": notes or [],
    }


def check(result: Any) -> dict[str, Any]:
    """``result`` if it is a document of this schema, else ValueError naming what is wrong."""
    if not isinstance(result, dict) or result.get("schema") != SCHEMA:
        found = result.get("schema") if isinstance(result, dict) else type(result).__name__
        raise ValueError(f"not a {SCHEMA} result (schema: {found!r})")
    for key in ("scenario", "metrics", "series", "histograms"):
        if key not in result:
            raise ValueError(f"{SCHEMA} result without {key!r}")
    return result


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


MIN_HISTOGRAM_SAMPLES = 5
GROUP_ABOVE = 6  # more lines than this in one chart: one panel per part (``mix``: per scenario)


def _groups(names: list[str]) -> dict[str, list[str]]:
    """Panels of a chart: all in one, or by the name's first part when there are many lines."""
    if len(names) <= GROUP_ABOVE:
        return {"": names}
    panels: dict[str, list[str]] = {}
    for name in names:
        panels.setdefault(name.split(".", 1)[0], []).append(name)
    return panels


def _figure(plt: Any, names: list[str], draw: Any, xlabel: str, ylabel: str, log_x: bool = False) -> str:
    """One PNG: a panel per group of ``names``, each line drawn by ``draw(ax, name)``, legends outside."""
    panels = _groups(names)
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 0.6 + 1.9 * len(panels)), squeeze=False,
                             sharex=True)
    for ax, (group, members) in zip(axes[:, 0], panels.items(), strict=True):
        for name in members:
            draw(ax, name)
        if log_x:
            ax.set_xscale("log")
        if group:
            ax.set_title(group, fontsize=9, loc="left")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1, 0].set_xlabel(xlabel, fontsize=8)
    fig.tight_layout()
    uri = _png(fig)
    plt.close(fig)
    return uri


def charts(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI) per chart: latency histograms, then per-second rates, bytes, latencies, levels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out: list[tuple[str, str]] = []
    series = result["series"]
    t = series.get("t", [])
    # a histogram of a handful of samples (a set-up step's one timing) says nothing the table does not
    histograms = {n: h for n, h in result["histograms"].items() if sum(h["counts"]) >= MIN_HISTOGRAM_SAMPLES}

    def stairs(ax: Any, name: str) -> None:
        edges, counts = histograms[name]["edges_ms"], histograms[name]["counts"]
        used = [i for i, c in enumerate(counts) if c]
        lo, hi = max(0, used[0] - 1), min(len(counts), used[-1] + 2)
        ax.stairs(counts[lo:hi], edges[lo:hi + 1], label=name)

    def line(suffix: str) -> Any:
        def draw(ax: Any, name: str) -> None:
            label = name[: -len(suffix) - 1] if suffix else name
            ax.plot(t, [float("nan") if v is None else v for v in series[name]], label=label)
        return draw

    if histograms:
        out.append(("Latency histograms", _figure(plt, list(histograms), stairs, "latency (ms, log buckets)",
                                                  "samples", log_x=True)))
    rates = [n for n in series if n.endswith(".per_s")]
    charts_by_suffix = (
        ("Events per second", [n for n in rates if ".bytes." not in n], "per_s", "events/s"),
        ("Bytes per second", [n for n in rates if ".bytes." in n], "per_s", "bytes/s"),
        ("p50 latency per second", [n for n in series if n.endswith(".p50_ms")], "p50_ms", "ms"),
        ("p99 latency per second", [n for n in series if n.endswith(".p99_ms")], "p99_ms", "ms"),
        ("Levels", [n for n in series if n != "t" and not n.endswith((".per_s", ".p50_ms", ".p99_ms"))], "", ""),
    )
    for title, names, suffix, unit in charts_by_suffix:
        if names:
            out.append((title, _figure(plt, names, line(suffix), "seconds into the load", unit)))
    return out


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows) + \
        "</table>"


def _number(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


STATS = ("count", "per_s", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "mean_ms", "max_ms", "last", "max")


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The flat ``name.stat`` metrics as rows: (name, {stat: value}); a metric without a known stat (such as
    ``server.cpu_s``) is its own row with the stat ``value``."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        stat = next((s for s in STATS if key.endswith("." + s)), None)
        name, stat = (key[: -len(stat) - 1], stat) if stat else (key, "value")
        rows.setdefault(name, {})[stat] = value
    return list(rows.items())


def _metrics_table(metrics: dict[str, Any]) -> str:
    """Latencies, counters and levels in one table (a column per stat); single values such as the server's
    CPU time in a two-column table under it."""
    every = metric_rows(metrics)
    rows = [(name, stats) for name, stats in every if "value" not in stats]
    single = [(name, _number(stats["value"])) for name, stats in every if "value" in stats]
    used = [s for s in STATS if any(s in stats for _, stats in rows)]
    head = "".join(f"<th>{html.escape(s)}</th>" for s in ("metric", *used))
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{_number(stats[s]) if s in stats else ''}</td>"
                                                      for s in used) + "</tr>"
        for name, stats in rows)
    return f"<table class=\"metrics\"><tr>{head}</tr>{body}</table>" + (_table(single) if single else "")


def render_html(result: dict[str, Any]) -> str:
    """A self-contained HTML page (no external resources) for one result."""
    check(result)
    env = result.get("env", {})
    head = [("scenario", result["scenario"]), ("target", str(result.get("target"))),
            ("started", str(result.get("started_at"))), ("duration", f"{result.get('duration_s')} s"),
            ("client CPU", f"{result.get('client_cpu_s')} s"),
            *((k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in env.items())]
    params = [(k, str(v)) for k, v in result.get("params", {}).items()]
    figures = "".join(f"<h3>{html.escape(title)}</h3><img alt=\"{html.escape(title)}\" src=\"{uri}\">"
                      for title, uri in charts(result))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.get("notes", []))
    output = result.get("output")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>mixillo bench: {html.escape(result['scenario'])}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:75em}th{text-align:left;padding-right:1em}"
        "td{font-variant-numeric:tabular-nums;padding-left:1em}img{max-width:100%}.metrics td{text-align:right}"
        ".metrics th{font-weight:normal}.metrics tr:first-child th{font-weight:bold;text-align:right}"
        ".metrics tr:first-child th:first-child{text-align:left}</style>"
        "</head><body>"
        f"<h1>mixillo bench: {html.escape(result['scenario'])}</h1>{_table(head)}"
        f"<h2>Parameters</h2>{_table(params)}<h2>Metrics</h2>{_metrics_table(result['metrics'])}"
        f"{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}"
        f"<h2>Charts</h2>{figures or '<p>no samples</p>'}"
        f"{'<h2>Output</h2><pre>' + html.escape(output) + '</pre>' if output else ''}"
        "</body></html>\n"
    )
