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


def charts(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI) per chart: latency histograms, then per-second rates, latencies and gauges."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out: list[tuple[str, str]] = []
    series = result["series"]
    t = series.get("t", [])
    histograms = result["histograms"]
    if histograms:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for name, h in histograms.items():
            edges, counts = h["edges_ms"], h["counts"]
            used = [i for i, c in enumerate(counts) if c]
            lo, hi = max(0, used[0] - 1), min(len(counts), used[-1] + 2)
            ax.stairs(counts[lo:hi], edges[lo:hi + 1], label=name)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log buckets)")
        ax.set_ylabel("samples")
        ax.legend(fontsize=7)
        out.append(("Latency histograms", _png(fig)))
        plt.close(fig)
    groups = (("per_s", "Per second", "events/s"), ("p50_ms", "p50 latency per second", "ms"),
              ("p99_ms", "p99 latency per second", "ms"))
    for suffix, title, unit in groups:
        names = [n for n in series if n.endswith("." + suffix)]
        if names:
            fig, ax = plt.subplots(figsize=(8, 2.8))
            for name in names:
                ax.plot(t, [float("nan") if v is None else v for v in series[name]], label=name[: -len(suffix) - 1])
            ax.set_xlabel("s")
            ax.set_ylabel(unit)
            ax.legend(fontsize=7)
            out.append((title, _png(fig)))
            plt.close(fig)
    gauges = [n for n in series if n != "t" and not n.endswith(tuple("." + g[0] for g in groups))]
    if gauges:
        fig, ax = plt.subplots(figsize=(8, 2.8))
        for name in gauges:
            ax.plot(t, [float("nan") if v is None else v for v in series[name]], label=name)
        ax.set_xlabel("s")
        ax.legend(fontsize=7)
        out.append(("Levels", _png(fig)))
        plt.close(fig)
    return out


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows) + \
        "</table>"


def _number(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def render_html(result: dict[str, Any]) -> str:
    """A self-contained HTML page (no external resources) for one result."""
    check(result)
    env = result.get("env", {})
    head = [("scenario", result["scenario"]), ("target", str(result.get("target"))),
            ("started", str(result.get("started_at"))), ("duration", f"{result.get('duration_s')} s"),
            ("client CPU", f"{result.get('client_cpu_s')} s"),
            *((k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in env.items())]
    params = [(k, str(v)) for k, v in result.get("params", {}).items()]
    metrics = [(k, _number(v)) for k, v in result["metrics"].items()]
    figures = "".join(f"<h3>{html.escape(title)}</h3><img alt=\"{html.escape(title)}\" src=\"{uri}\">"
                      for title, uri in charts(result))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.get("notes", []))
    output = result.get("output")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>mixillo bench: {html.escape(result['scenario'])}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}th{text-align:left;padding-right:1em}"
        "td{font-variant-numeric:tabular-nums}img{max-width:100%}</style></head><body>"
        f"<h1>mixillo bench: {html.escape(result['scenario'])}</h1>{_table(head)}"
        f"<h2>Parameters</h2>{_table(params)}<h2>Metrics</h2>{_table(metrics)}"
        f"{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}"
        f"<h2>Charts</h2>{figures or '<p>no samples</p>'}"
        f"{'<h2>Output</h2><pre>' + html.escape(output) + '</pre>' if output else ''}"
        "</body></html>\n"
    )
