"""Transcode metrics in the app's Prometheus registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class TranscodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.slow_uploads = Counter(
            "mixillo_hls_slow_uploads_total",
            "Uploads of a segment or part that took longer than 0.9 of the media duration it holds",
            registry=registry,
        )
        self.upload_seconds = Histogram(
            "mixillo_hls_upload_seconds",
            "Time to store one HLS object",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=registry,
        )
        self.part_latency = Histogram(
            "mixillo_hls_part_latency_seconds",
            "From a frame entering the ladder to its part being listed",
            buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3),
            registry=registry,
        )
