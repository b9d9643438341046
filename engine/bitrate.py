"""A one-second bitrate window, cheap enough to update on every packet."""

from __future__ import annotations

WINDOW_S = 1.0


class Bitrate:
    def __init__(self) -> None:
        self._start = 0.0
        self._bytes = 0
        self._last_bps = 0

    def add(self, size: int, now: float) -> None:
        if now - self._start >= WINDOW_S:
            elapsed = now - self._start
            self._last_bps = int(self._bytes * 8 / elapsed) if elapsed < 2 * WINDOW_S else 0
            self._start = now
            self._bytes = 0
        self._bytes += size

    def bps(self, now: float) -> int:
        """Bits per second over the last full window; 0 once traffic has stopped for two windows."""
        return self._last_bps if now - self._start < 2 * WINDOW_S else 0
