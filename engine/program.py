"""The compositor's encoded program as producers in a Router's ``program`` slot.

:class:`ProgramPublication` reads a :class:`~engine.compositor.encoder.ProgramEncoder`'s packets once,
packetizes them once -- H.264 by RFC 6184 (packetization mode 1: single NAL units, STAP-A, FU-A), VP8 by
RFC 7741, each Opus packet one RTP payload (RFC 7587 §4.2) -- and hands every RTP packet to the Consumers of
its :class:`ProgramProducer` for that kind, exactly as a publisher's Producer forwards what it receives. So a
``program`` viewer's Consumer does the rest as usual: SSRC, renumbering, its own payload type, RTX history.
A viewer's PLI asks the encoder for a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
from aiortc import clock as rtc_clock
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from engine.compositor.encoder import VIDEO_CLOCK, ProgramEncoder, VideoCodec
from engine.compositor.program import Subscription
from engine.keyframe import KeyframeCache
from engine.producer import KEYFRAME_MAX_AGE_S, PLI_INTERVAL_S

if TYPE_CHECKING:
    from engine.compositor.encoder import EncodedPacket
    from engine.consumer import Consumer

log = logging.getLogger(__name__)


class ProgramProducer:
    """One kind of the program, fed by :class:`ProgramPublication` (the Consumer's ``PacketSource``)."""

    def __init__(self, stream_id: str, kind: str, codec: RTCRtpCodecParameters, encoder: ProgramEncoder) -> None:
        self.stream_id = stream_id
        self.kind = kind
        self.codec = codec
        self.consumers: set[Consumer] = set()
        self.closed = False
        self.packets = 0
        self._encoder = encoder
        self._seq = random.randint(0, 0xFFFF)
        self._last_keyframe_request = 0.0
        self._keyframe = KeyframeCache(KEYFRAME_MAX_AGE_S) if kind == "video" else None

    def attach(self, consumer: Consumer) -> None:
        self.consumers.add(consumer)
        consumer.producer = self
        if consumer.ready:  # otherwise the Consumer asks once it is connected (Consumer.ready)
            self.keyframe_needed()

    def detach(self, consumer: Consumer) -> None:
        self.consumers.discard(consumer)
        if consumer.producer is self:
            consumer.producer = None

    def keyframe(self, now: float) -> tuple[RTCRtpCodecParameters, list[RtpPacket]] | None:
        return self._keyframe.packets(now) if self._keyframe is not None else None

    def keyframe_needed(self) -> None:
        """A viewer joined or sent a PLI/FIR: the next picture is an IDR (at most one per PLI interval)."""
        now = time.monotonic()
        if self.kind == "video" and not self.closed and now - self._last_keyframe_request >= PLI_INTERVAL_S:
            self._last_keyframe_request = now
            self._encoder.request_keyframe()

    async def send(self, payloads: list[bytes], timestamp: int, *, marker_last: bool) -> None:
        """One frame's RTP payloads; the marker bit ends a video frame (RFC 6184 §5.1, RFC 7741 §4.1)."""
        if self.closed:
            return
        now, ntp = time.monotonic(), rtc_clock.current_ntp_time()
        waiting = False
        for index, payload in enumerate(payloads):
            marker = int(marker_last and index == len(payloads) - 1)
            packet = RtpPacket(self.codec.payloadType or 0, marker, self._seq, timestamp & 0xFFFFFFFF, 0, payload)
            self._seq = (self._seq + 1) & 0xFFFF
            self.packets += 1
            if self._keyframe is not None:
                self._keyframe.add(packet, self.codec, now)
            serialized: dict[tuple[Any, ...], bytes] = {}  # shared by the consumers (Consumer.send)
            for consumer in tuple(self.consumers):
                await consumer.send(packet, self.codec, now, ntp, serialized)
                waiting = waiting or consumer.wants_keyframe
        if waiting:  # a viewer whose keyframe was lost keeps asking, like Producer._forward
            self.keyframe_needed()

    def close(self) -> None:
        self.closed = True
        for consumer in tuple(self.consumers):
            self.detach(consumer)


class ProgramPublication:
    """The program's producers (``video``, ``audio``) and the task that feeds them from the encoder."""

    def __init__(self, stream_id: str, encoder: ProgramEncoder, codecs: dict[str, RTCRtpCodecParameters]) -> None:
        self.producers = {kind: ProgramProducer(stream_id, kind, codec, encoder) for kind, codec in codecs.items()}
        video = codecs.get("video")
        self.video_codec = video.name.upper() if video is not None else ""
        self._packer: H264Encoder | Vp8Encoder = (
            H264Encoder() if self.video_codec == VideoCodec.H264.value else Vp8Encoder()
        )
        self._packets: Subscription[EncodedPacket] = encoder.packets()
        self.mismatched = 0  # packets in a codec the viewers did not negotiate (a misconfigured encoder)
        self._task = asyncio.create_task(self._run(), name=f"program:{stream_id}")

    async def _run(self) -> None:
        audio, video = self.producers.get("audio"), self.producers.get("video")
        while (packet := await self._packets.get()) is not None:
            if packet.codec == "opus":
                if audio is not None:
                    await audio.send([packet.data], packet.timestamp, marker_last=False)
            elif video is not None and packet.codec.upper() == self.video_codec:
                au = av.Packet(packet.data)
                au.pts, au.time_base = packet.timestamp, Fraction(1, VIDEO_CLOCK)
                payloads, timestamp = self._packer.pack(au)
                await video.send(payloads, timestamp, marker_last=True)
            else:
                self.mismatched += 1
                if self.mismatched == 1:
                    log.error("program packet in %s, viewers negotiated %s", packet.codec, self.video_codec)

    async def close(self) -> None:
        """Stop reading the encoder; the producers let their Consumers go (the Router moved them first)."""
        self._packets.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for producer in self.producers.values():
            producer.close()
