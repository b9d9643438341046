"""The recorder's numbers: exact percentiles, logarithmic histogram buckets, per-second series."""

from __future__ import annotations

import pytest

from benchmarks.toolkit.recorder import Recorder, bucket_edges_ms, histogram, percentiles_ms


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_percentiles_are_exact_over_all_samples() -> None:
    samples = [n / 1000 for n in range(1, 101)]  # 1..100 ms
    p = percentiles_ms(samples)
    assert p["p50_ms"] == pytest.approx(50.5)
    assert p["p90_ms"] == pytest.approx(90.1)
    assert p["p99_ms"] == pytest.approx(99.01)
    assert p["max_ms"] == pytest.approx(100.0)
    assert p["mean_ms"] == pytest.approx(50.5)
    assert percentiles_ms([]) == {}


def test_histogram_buckets_are_ten_per_decade_and_clamp_the_ends() -> None:
    edges = bucket_edges_ms()
    assert edges[0] == pytest.approx(0.01) and edges[-1] == pytest.approx(100_000)
    assert edges[10] == pytest.approx(0.1) and edges[50] == pytest.approx(1000)
    h = histogram([0.001, 0.0011, 0.5, 1e-9, 1e6])  # 1 ms, 1.1 ms, 500 ms, below and above the range
    counts = h["counts"]
    assert sum(counts) == 5
    assert counts[0] == 1 and counts[-1] == 1  # clamped into the end buckets
    assert edges[20] == 1.0 and counts[20] == 2  # [1 ms, 1.26 ms)
    assert edges[46] < 500 < edges[47] and counts[46] == 1


def test_series_file_samples_under_their_second_and_carry_gauges() -> None:
    clock = Clock()
    recorder = Recorder(clock=clock)
    recorder.observe("feed", 0.010)
    recorder.count("errors")
    recorder.gauge("viewers", 3)
    clock.now += 1.5
    recorder.observe("feed", 0.030)
    recorder.observe("feed", 0.050)
    clock.now += 1.0
    recorder.count("errors", 2)
    recorder.observe("late", 0.2, at=100.2)  # filed under the second it happened in, not when recorded
    assert recorder.seconds() == 3
    series = recorder.series(3)
    assert series["t"] == [0.0, 1.0, 2.0]
    assert series["feed.per_s"] == [1.0, 2.0, 0.0]
    assert series["feed.p50_ms"] == [pytest.approx(10.0), pytest.approx(40.0), None]
    assert series["errors.per_s"] == [1.0, 0.0, 2.0]
    assert series["viewers"] == [3, 3, 3]
    assert series["late.per_s"] == [1.0, 0.0, 0.0]
    metrics = recorder.metrics(duration=3.0)
    assert metrics["feed.count"] == 3 and metrics["feed.per_s"] == pytest.approx(1.0)
    assert metrics["feed.p50_ms"] == pytest.approx(30.0)
    assert metrics["errors.count"] == 3 and metrics["viewers.last"] == 3
