"""``make bench``: list the load scenarios and benchmark scripts (``mixillo bench list``)."""

from __future__ import annotations

from benchmarks.toolkit.registry import listing


def main() -> None:
    print("\n".join(listing()))


if __name__ == "__main__":
    main()
