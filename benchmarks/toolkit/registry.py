"""One list of everything ``mixillo bench`` runs: the load scenarios and the in-process benchmark scripts.

Scripts are the ``benchmarks/<name>.py`` modules, found on disk (``python -m benchmarks.<name>`` keeps
working; ``mixillo bench <name>`` runs the same module). A script whose name a load scenario already has is
listed as ``<name>-script`` (``benchmarks/api.py`` is ``api-script``: it seeds and serves its own server).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from benchmarks.toolkit.scenario import Scenario
from benchmarks.toolkit.scenarios.api import ApiScenario
from benchmarks.toolkit.scenarios.hls import HlsScenario
from benchmarks.toolkit.scenarios.media import PublishersScenario, ViewersScenario
from benchmarks.toolkit.scenarios.mix import MixScenario
from benchmarks.toolkit.scenarios.room import RoomScenario

BENCHMARKS = Path(__file__).resolve().parents[1]

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (ViewersScenario(), PublishersScenario(), RoomScenario(), HlsScenario(), ApiScenario(), MixScenario())
}


@dataclass(frozen=True)
class Script:
    """An in-process benchmark script: ``python -m benchmarks.<module>``."""

    name: str
    module: str
    summary: str


def scripts() -> dict[str, Script]:
    found: dict[str, Script] = {}
    for path in sorted(BENCHMARKS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        name = f"{path.stem}-script" if path.stem in SCENARIOS else path.stem
        found[name] = Script(name, f"benchmarks.{path.stem}", doc.splitlines()[0] if doc else "")
    return found


def listing() -> list[str]:
    """The lines ``mixillo bench list`` (and ``make bench``) prints."""
    lines = ["load scenarios, against a running server (mixillo bench <name> --target URL --duration S):"]
    lines += [f"  {s.name:<18} {s.summary}" for s in SCENARIOS.values()]
    lines.append("benchmark scripts, each starts what it measures (mixillo bench <name> [its options]):")
    lines += [f"  {s.name:<18} {s.summary}" for s in scripts().values()]
    lines.append("also: mixillo bench compare A.json B.json | mixillo bench report A.json")
    return lines
