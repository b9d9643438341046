"""The ABR ladder: which renditions a source gets, derived from its size and orientation.

Bit rates follow Apple's HLS Authoring Specification for Apple Devices (H.264 table, up to 30 fps),
interpolated by pixel count between its rows for sizes the table does not list (480p, 240p).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

# (pixels, kbit/s) from the authoring table's H.264 rows: 416x234, 640x360, 768x432, 960x540, 1280x720,
# 1920x1080 (lowest bit rate of each size).
_APPLE_H264 = [
    (416 * 234, 145),
    (640 * 360, 365),
    (768 * 432, 730),
    (960 * 540, 2000),
    (1280 * 720, 3000),
    (1920 * 1080, 6000),
]
SIZE_CLASSES = (1080, 720, 480, 360, 240)  # short side of each rung class
AUDIO_BIT_RATE = 128_000
MAXRATE_FACTOR = 1.1  # VBV cap on each encoded rung
BUFSIZE_SECONDS = 1.0  # VBV buffer in seconds of the average rate


def apple_bit_rate(width: int, height: int) -> int:
    """Average video bit rate (bit/s) for a size, interpolated from the authoring table."""
    pixels = width * height
    points = _APPLE_H264
    if pixels <= points[0][0]:
        return int(points[0][1] * 1000 * pixels / points[0][0])
    for (p0, r0), (p1, r1) in itertools.pairwise(points):
        if pixels <= p1:
            return int((r0 + (r1 - r0) * (pixels - p0) / (p1 - p0)) * 1000)
    return int(points[-1][1] * 1000 * pixels / points[-1][0])


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


@dataclass(frozen=True)
class Rung:
    name: str  # "720p": the short side, whatever the orientation
    width: int
    height: int
    bit_rate: int  # average, bit/s
    copy: bool = False  # the source's own H.264, remuxed

    @property
    def maxrate(self) -> int:
        return int(self.bit_rate * MAXRATE_FACTOR)

    @property
    def bufsize(self) -> int:
        return int(self.bit_rate * BUFSIZE_SECONDS)


@dataclass(frozen=True)
class Ladder:
    rungs: tuple[Rung, ...]
    frame_rate: Fraction
    audio_bit_rate: int | None

    @property
    def top(self) -> Rung:
        return self.rungs[0]


def ladder_for(
    width: int,
    height: int,
    frame_rate: Fraction,
    *,
    copy_top: bool = False,
    has_audio: bool = True,
    max_rungs: int = 4,
) -> Ladder:
    """The source's own size on top, then every smaller size class with the same aspect ratio.

    A vertical 720x1280 phone live gets 720x1280, 480x854, 360x640 and 240x426.
    """
    short, long_ = min(width, height), max(width, height)
    vertical = height > width
    rungs: list[Rung] = [Rung(f"{short}p", width, height, apple_bit_rate(width, height), copy=copy_top)]
    for size in SIZE_CLASSES:
        if size >= short * 0.9 or len(rungs) >= max_rungs:
            continue
        other = _even(long_ * size / short)
        w, h = (size, other) if vertical else (other, size)
        rungs.append(Rung(f"{size}p", w, h, apple_bit_rate(w, h)))
    return Ladder(tuple(rungs), frame_rate, AUDIO_BIT_RATE if has_audio else None)
