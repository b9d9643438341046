"""The frame source interface: what the ladder consumes.

A source yields decoded pictures and sounds with presentation times in seconds from its start, and, when it
has them, the encoded H.264 access units it decoded the pictures from (Annex B, decode order) so the top rung
can be the source remuxed. The engine's producer adapter only has to yield these three item types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    frame_rate: Fraction
    has_audio: bool  # it yields sound throughout (a muted microphone should yield silence, not nothing)
    # Seconds between the source's IDRs when it yields encoded H.264 with a steady keyframe interval;
    # None when it yields no encoded video or its keyframes are irregular.
    keyframe_interval: float | None = None
    realtime: bool = True  # frames arrive at the pace of a live stream


@dataclass(frozen=True)
class Picture:
    frame: av.VideoFrame
    time: float  # presentation time, seconds
    keyframe: bool = False  # decoded from an IDR of the encoded stream


@dataclass(frozen=True)
class Sound:
    frame: av.AudioFrame
    time: float


@dataclass(frozen=True)
class AccessUnit:
    data: bytes  # Annex B
    time: float  # presentation time, seconds
    decode_time: float
    keyframe: bool


SourceItem = Picture | Sound | AccessUnit


class FrameSource(Protocol):
    @property
    def info(self) -> SourceInfo: ...

    def items(self) -> AsyncIterator[SourceItem]:
        """Items in arrival order; ends when the stream ends."""
        ...

    async def aclose(self) -> None: ...
