"""A participant's decoder: encoded frames from the engine (H.264 Annex B, VP8, Opus) into av frames.

The compositor creates one per encoded input when the participant joins and drops it when they leave or
the compositor closes, so a live without guests decodes nothing (PyAV frees the codec context with its last
reference; ``close`` flushes and lets it go).
"""

from __future__ import annotations

import logging
from typing import Protocol

import av

from engine.compositor.errors import DecodeError

log = logging.getLogger(__name__)

# The engine's codec names (RTP encoding names, RFC 6184 / RFC 7741 / RFC 7587) -> FFmpeg decoders.
DECODERS = {"h264": "h264", "vp8": "vp8", "opus": "opus"}
OPUS_RATE = 48_000  # Opus over RTP is clocked at 48 kHz whatever the coded bandwidth (RFC 7587 §4.1)


class EncodedMedia(Protocol):
    """What the engine's ``EncodedFrame`` carries (structurally: nothing is imported from the engine)."""

    @property
    def data(self) -> bytes: ...

    @property
    def timestamp(self) -> int: ...

    @property
    def codec(self) -> str: ...


class Decoder:
    def __init__(self, codec: str) -> None:
        name = DECODERS.get(codec.lower())
        if name is None:
            raise DecodeError(f"no decoder for {codec!r}")
        self.codec = codec.lower()
        ctx = av.CodecContext.create(name, "r")
        if isinstance(ctx, av.AudioCodecContext):
            ctx.sample_rate = OPUS_RATE
            ctx.layout = "stereo"
        assert isinstance(ctx, av.VideoCodecContext | av.AudioCodecContext)
        self._ctx: av.VideoCodecContext | av.AudioCodecContext | None = ctx
        self.errors = 0

    def decode(self, media: EncodedMedia) -> list[av.VideoFrame | av.AudioFrame]:
        """Frames decoded from one access unit/packet; a corrupt one is skipped (the next keyframe heals)."""
        if self._ctx is None:
            return []
        packet = av.Packet(media.data)
        packet.pts = media.timestamp
        try:
            frames: list[av.VideoFrame] | list[av.AudioFrame] = self._ctx.decode(packet)
        except av.error.FFmpegError as exc:
            self.errors += 1
            log.debug("undecodable %s frame: %s", self.codec, exc)
            return []
        return [f for f in frames if isinstance(f, av.VideoFrame | av.AudioFrame)]

    @property
    def closed(self) -> bool:
        return self._ctx is None

    def close(self) -> None:
        self._ctx = None
