"""What a load run measures: latency samples, counters and gauges, kept per second of the run.

Latencies are kept whole (a run of minutes holds a few million floats at most) so the percentiles are exact
(numpy's linear interpolation); histograms use HDR-style logarithmic buckets, ten per decade from 10 µs to
100 s, so one chart shows both the sub-millisecond body and a multi-second tail.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BUCKETS_PER_DECADE = 10
LOWEST_S, HIGHEST_S = 1e-5, 100.0
PERCENTILES = (50, 90, 99, 99.9)


def bucket_edges_ms() -> list[float]:
    """Bucket edges in milliseconds, 10^(k/10) steps from ``LOWEST_S`` to ``HIGHEST_S``."""
    first, decades = round(math.log10(LOWEST_S * 1000)), round(math.log10(HIGHEST_S / LOWEST_S))
    # 10 ** (k / 10 + first) rather than a product, so the decade edges are exact (1 ms is 1.0, not 1.0000000002)
    return [10 ** (k / BUCKETS_PER_DECADE + first) for k in range(decades * BUCKETS_PER_DECADE + 1)]


def histogram(samples_s: list[float]) -> dict[str, list[float] | list[int]]:
    """Counts per logarithmic bucket; samples outside the range land in the first or last bucket."""
    edges = bucket_edges_ms()
    values = np.clip(np.asarray(samples_s, dtype=float) * 1000, edges[0], edges[-1])
    counts, _ = np.histogram(values, bins=np.asarray(edges))
    return {"edges_ms": edges, "counts": [int(c) for c in counts]}


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9, mean and max in milliseconds (empty dict for no samples)."""
    if not samples_s:
        return {}
    values = np.asarray(samples_s, dtype=float) * 1000
    out = {f"p{p:g}_ms": float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True)}
    out["mean_ms"] = float(values.mean())
    out["max_ms"] = float(values.max())
    return out


@dataclass
class Recorder:
    """Samples of one run. ``observe`` a latency, ``count`` an event, ``gauge`` a level (e.g. sessions
    connected); each is filed under the second of the run it happened in (``at``, default now)."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    latency_seconds: dict[str, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(dict))
    counters: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    gauges: dict[str, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    def _second(self, at: float | None) -> int:
        return max(0, int((self.clock() if at is None else at) - self.started))

    def observe(self, name: str, seconds: float, at: float | None = None) -> None:
        self.latencies[name].append(seconds)
        self.latency_seconds[name].setdefault(self._second(at), []).append(seconds)

    def count(self, name: str, n: int = 1, at: float | None = None) -> None:
        per_second = self.counters[name]
        second = self._second(at)
        per_second[second] = per_second.get(second, 0) + n

    def gauge(self, name: str, value: float, at: float | None = None) -> None:
        self.gauges[name][self._second(at)] = value

    def elapsed(self) -> float:
        return self.clock() - self.started

    def total(self, name: str) -> int:
        return sum(self.counters.get(name, {}).values())

    def seconds(self) -> int:
        """Seconds that hold anything: up to the last sample (requests in flight at the deadline end after it)."""
        tables: list[dict[int, Any]] = [*self.latency_seconds.values(), *self.counters.values(), *self.gauges.values()]
        filed = [second for table in tables for second in table]
        return max(filed) + 1 if filed else 0

    def metrics(self, duration: float) -> dict[str, float]:
        """Flat ``name.stat`` numbers: counts, rates over ``duration``, latency percentiles, last gauges."""
        out: dict[str, float] = {}
        rate = max(duration, 1e-9)
        for name, samples in sorted(self.latencies.items()):
            out[f"{name}.count"] = len(samples)
            out[f"{name}.per_s"] = len(samples) / rate
            out.update({f"{name}.{k}": v for k, v in percentiles_ms(samples).items()})
        for name in sorted(self.counters):
            out[f"{name}.count"] = self.total(name)
            out[f"{name}.per_s"] = self.total(name) / rate
        for name, levels in sorted(self.gauges.items()):
            if levels:
                out[f"{name}.last"] = levels[max(levels)]
                out[f"{name}.max"] = max(levels.values())
        return out

    def series(self, seconds: int) -> dict[str, list[float | None]]:
        """One value per second 0..seconds-1: ``name.per_s`` (latencies and counters), ``name.p50_ms`` and
        ``name.p99_ms`` (latencies, None in an empty second), ``name`` (gauges, carried forward)."""
        out: dict[str, list[float | None]] = {"t": [float(s) for s in range(seconds)]}
        for name, by_second in sorted(self.latency_seconds.items()):
            out[f"{name}.per_s"] = [float(len(by_second.get(s, []))) for s in range(seconds)]
            for p in (50, 99):
                out[f"{name}.p{p}_ms"] = [
                    float(np.percentile(np.asarray(by_second[s]) * 1000, p)) if by_second.get(s) else None
                    for s in range(seconds)
                ]
        for name, per_second in sorted(self.counters.items()):
            out[f"{name}.per_s"] = [float(per_second.get(s, 0)) for s in range(seconds)]
        for name, levels in sorted(self.gauges.items()):
            last: float | None = None
            values: list[float | None] = []
            for s in range(seconds):
                last = levels.get(s, last)
                values.append(last)
            out[name] = values
        return out

    def histograms(self) -> dict[str, Any]:
        return {name: histogram(samples) for name, samples in sorted(self.latencies.items()) if samples}
