"""``mixillo bench``: list, run a load scenario or a benchmark script, compare two results, redraw a report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.toolkit.report import check, render_html
from benchmarks.toolkit.scenario import DEFAULT_TARGET, RemoteTargetRefused, Scenario, Target

USAGE = """usage: mixillo bench list
       mixillo bench <scenario> [--target URL] [--allow-remote] [--duration S] [--out DIR] [options]
       mixillo bench <script> [its options]
       mixillo bench compare A.json B.json
       mixillo bench report RESULT.json [--html OUT.html]"""


def scenario_parser(scenario: Scenario) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"mixillo bench {scenario.name}", description=scenario.summary)
    parser.add_argument("--target", default=DEFAULT_TARGET, help=f"the server's base URL (default {DEFAULT_TARGET})")
    parser.add_argument("--allow-remote", action="store_true", help="allow a target that is not this machine")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load after set-up (default 30)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"),
                        help="directory for the JSON result and HTML report (default ./bench-results)")
    parser.add_argument("--quiet", action="store_true", help="no live progress table")
    parser.add_argument("--server-pid", type=int, help="the server's process id (on this machine): its CPU time "
                        "over the load is reported")
    scenario.add_arguments(parser)
    parser.set_defaults(scenario=scenario.name)
    return parser


def write_result(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``<scenario>-<UTC time>.json`` and ``.html`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = out / f"{result['scenario']}-{stamp}"
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    html_path.write_text(render_html(result))
    return json_path, html_path


def summary(result: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"{result['scenario']}: {result['duration_s']} s, load {result['env']['load_avg'][0]}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result["metrics"].items():
        if not name.endswith(("p90_ms", "p99.9_ms", "mean_ms")):
            table.add_row(name, f"{value:,.2f}" if isinstance(value, float) else str(value))
    return table


def _load(path: str) -> dict[str, Any]:
    try:
        return check(json.loads(Path(path).read_text()))
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        raise SystemExit(f"mixillo bench: {path}: {exc}") from None


def main(argv: list[str]) -> int:
    from rich.console import Console

    from benchmarks.toolkit.registry import SCENARIOS, listing, scripts

    console = Console()
    if not argv or argv[0] in ("list", "-h", "--help"):
        if argv[:1] in (["-h"], ["--help"]):
            print(USAGE)
        print("\n".join(listing()))
        return 0
    command, rest = argv[0], argv[1:]
    if command == "compare":
        if len(rest) != 2:
            print("usage: mixillo bench compare A.json B.json", file=sys.stderr)
            return 2
        from benchmarks.toolkit.compare import render

        console.print(render(_load(rest[0]), _load(rest[1]), Path(rest[0]).name, Path(rest[1]).name))
        return 0
    if command == "report":
        parser = argparse.ArgumentParser(prog="mixillo bench report")
        parser.add_argument("result")
        parser.add_argument("--html", type=Path, help="where to write (default: next to the JSON)")
        args = parser.parse_args(rest)
        target = args.html or Path(args.result).with_suffix(".html")
        target.write_text(render_html(_load(args.result)))
        print(target)
        return 0
    if command in SCENARIOS:
        scenario = SCENARIOS[command]
        options = scenario_parser(scenario).parse_args(rest)
        try:
            target = Target.parse(options.target, options.allow_remote)
        except (RemoteTargetRefused, ValueError) as exc:
            print(f"mixillo bench: {exc}", file=sys.stderr)
            return 2
        from benchmarks.toolkit.runner import execute

        try:
            result = asyncio.run(execute(scenario, target, options))
        except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError) as exc:
            # set-up failed (no server, a refused request, no live playlist...): say so, without a traceback
            print(f"mixillo bench {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        console.print(summary(result))
        json_path, html_path = write_result(result, options.out)
        console.print(f"result: {json_path}\nreport: {html_path}")
        return 0
    found = scripts().get(command)
    if found is not None:
        return subprocess.call([sys.executable, "-m", found.module, *rest])
    print(f"mixillo bench: no scenario or script named {command!r}\n" + "\n".join(listing()), file=sys.stderr)
    return 2
