"""``make bench``: list the benchmarks and how to run each."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))
    if not scripts:
        print("no benchmarks yet")
        return
    print("benchmarks (run with .venv/bin/python -m benchmarks.<name>):")
    for path in scripts:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        print(f"  {path.stem:<16} {doc.splitlines()[0] if doc else ''}")


if __name__ == "__main__":
    main()
