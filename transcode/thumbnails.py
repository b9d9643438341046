"""JPEG stills of a stream for discovery screens: one every ``interval`` seconds, and a poster."""

from __future__ import annotations

import av
import cv2

THUMBNAIL_SHORT_SIDE = 360


def jpeg(frame: av.VideoFrame, short_side: int = THUMBNAIL_SHORT_SIDE, quality: int = 80) -> bytes:
    scale = min(1.0, short_side / min(frame.width, frame.height))
    width = max(2, int(frame.width * scale) // 2 * 2)
    height = max(2, int(frame.height * scale) // 2 * 2)
    pixels = frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(encoded.tobytes())


class ThumbnailSchedule:
    """Which source times get a still: 0, interval, 2·interval, …; the poster is the first frame at or after
    ``poster_at`` (past a black first frame), or the last frame of a shorter stream."""

    def __init__(self, interval: float = 10.0, poster_at: float = 1.0) -> None:
        self.interval = interval
        self.poster_at = poster_at
        self.next_time = 0.0
        self.count = 0
        self.poster_done = False

    def thumbnail_due(self, time: float) -> int | None:
        if time + 1e-6 < self.next_time:
            return None
        index = self.count
        self.count += 1
        self.next_time = self.count * self.interval
        return index

    def poster_due(self, time: float) -> bool:
        if self.poster_done or time + 1e-6 < self.poster_at:
            return False
        self.poster_done = True
        return True
