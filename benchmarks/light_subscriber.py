"""A light WebRTC subscriber for load tests: real ICE and DTLS, no SRTP decryption, no jitter buffer.

An aiortc receiver spends most of its CPU in SRTP unprotect and its jitter buffer, so on one machine a few
dozen of them saturate the cores before the server does. This one completes ICE and DTLS with aiortc (the
server does real DTLS-SRTP, and aioice keeps answering consent checks, RFC 7675), then reads only the RTP
fixed header, which SRTP leaves in the clear (RFC 3711 §3.1: only the payload is encrypted), straight from
the datagram: SSRC, sequence number, timestamp, marker (RFC 3550 §5.1). A video frame is complete when its
marker packet arrives with no sequence gap since the previous frame's marker. SRTCP from the server is
decrypted and handled as usual; every second it sends a receiver report (RFC 3550 §6.4.2) so the server
sees a live viewer. No NACK or PLI. Benchmark code: it reaches into aiortc's private transport fields.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

_HEADER = struct.Struct("!HLL")  # after the first two bytes: sequence number, timestamp, SSRC


@dataclass
class SourceStats:
    """What one received SSRC looked like: counts, RFC 3550 §6.4.1 interarrival jitter, complete frames."""

    kind: str
    clock_rate: int
    packets: int = 0
    bytes: int = 0
    first_seq: int = 0
    max_seq: int = 0
    cycles: int = 0
    jitter: float = 0.0  # in timestamp units (RFC 3550 A.8)
    frames: int = 0  # video: complete frames (no gap since the previous marker)
    broken_frames: int = 0
    _transit: float | None = None
    _gap: bool = False

    def add(self, seq: int, ts: int, marker: int, size: int, now: float) -> bool:
        """Count one packet; True if it completed a video frame."""
        if self.packets == 0:
            self.first_seq = self.max_seq = seq
        else:
            delta = (seq - self.max_seq) & 0xFFFF
            if 0 < delta < 0x8000:
                if delta > 1:
                    self._gap = True
                if seq < self.max_seq:
                    self.cycles += 1 << 16
                self.max_seq = seq
        self.packets += 1
        self.bytes += size
        transit = now * self.clock_rate - ts
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.clock_rate:  # a timestamp jump (new source, wrap) is not jitter
                self.jitter += (d - self.jitter) / 16
        self._transit = transit
        if marker and self.kind == "video":
            complete = not self._gap
            self._gap = False
            if complete:
                self.frames += 1
            else:
                self.broken_frames += 1
            return complete
        return False

    def report(self, ssrc: int) -> RtcpReceiverInfo:
        expected = self.cycles + self.max_seq - self.first_seq + 1
        return RtcpReceiverInfo(ssrc=ssrc, fraction_lost=0, packets_lost=max(0, expected - self.packets),
                                highest_sequence=(self.cycles + self.max_seq) & 0xFFFFFFFF,
                                jitter=int(self.jitter), lsr=0, dlsr=0)


class _RtcpOnlySrtp:
    """Stands in for the DTLS transport's receive-side SRTP session: SRTCP is decrypted, SRTP is not."""

    def __init__(self, session: Any) -> None:
        self.unprotect_rtcp = session.unprotect_rtcp

    @staticmethod
    def unprotect(data: bytes) -> bytes:
        return data


class ClearHeaderDtlsTransport(RTCDtlsTransport):
    """aiortc's DTLS transport, receiving SRTP packets without decrypting them (see the module docstring).

    Installed by changing the class of the transports a peer connection created; ``_rx_srtp`` is set by
    aiortc when the DTLS-SRTP keys are exported (RFC 5764 §4.2) and wrapped here on the way in.
    """

    @property  # type: ignore[override]
    def _rx_srtp(self) -> Any:
        return self.__dict__.get("_light_rx_srtp")

    @_rx_srtp.setter
    def _rx_srtp(self, session: Any) -> None:
        self.__dict__["_light_rx_srtp"] = None if session is None else _RtcpOnlySrtp(session)

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        sink: LightSubscriber | None = self.__dict__.get("_light_sink")
        if sink is not None:
            sink.on_rtp(data)


@dataclass
class LightSubscriber:
    """One viewer: ``await offer()``, send it, ``await answer(sdp)``; ``first_frame`` resolves with the
    seconds from ``offer()`` to the first complete video frame, ``moving`` with those to the second (when
    the picture starts to move); ``close()`` ends it."""

    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[])))
    sources: dict[int, SourceStats] = field(default_factory=dict)
    started_at: float = 0.0
    first_frame: asyncio.Future[float] | None = None
    moving: asyncio.Future[float] | None = None
    marks: dict[str, float] = field(default_factory=dict)  # seconds from offer(): answer, dtls, rtp, frame, live
    _kinds: dict[int, tuple[str, int]] = field(default_factory=dict)
    _rtcp_task: asyncio.Task[None] | None = None
    _rtcp_ssrc: int = field(default_factory=lambda: random.randint(1, 0xFFFFFFFF))

    async def offer(self) -> str:
        self.started_at = time.monotonic()
        self.first_frame = asyncio.get_running_loop().create_future()
        self.moving = asyncio.get_running_loop().create_future()
        for kind in ("video", "audio"):
            self.pc.addTransceiver(kind, direction="recvonly")
        for t in self.pc.getTransceivers():
            self._adopt(t.receiver.transport)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.monotonic() - self.started_at)

    async def answer(self, sdp: str) -> None:
        self.mark("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        dtls = self.pc.getTransceivers()[0].receiver.transport

        @dtls.on("statechange")
        def on_state() -> None:
            if dtls.state == "connected":
                self.mark("dtls")

        for t in self.pc.getTransceivers():
            self._adopt(t.receiver.transport)  # BUNDLE may have replaced a transport
            for codec in t._codecs:
                if codec.payloadType is not None:
                    self._kinds[codec.payloadType] = (t.kind, codec.clockRate)
        self._rtcp_task = asyncio.create_task(self._send_reports(), name="light-subscriber-rtcp")

    def _adopt(self, transport: RTCDtlsTransport) -> None:
        if type(transport) is RTCDtlsTransport:
            transport.__class__ = ClearHeaderDtlsTransport
        transport.__dict__["_light_sink"] = self

    def on_rtp(self, data: bytes) -> None:
        if len(data) < 12:
            return
        now = time.monotonic()
        second = data[1]
        seq, ts, ssrc = _HEADER.unpack_from(data, 2)
        source = self.sources.get(ssrc)
        if source is None:
            self.mark("rtp")
            kind, clock_rate = self._kinds.get(second & 0x7F, ("unknown", 90000))
            source = self.sources[ssrc] = SourceStats(kind, clock_rate)
        if source.add(seq, ts, second >> 7, len(data), now) and self.first_frame:
            if not self.first_frame.done():
                self.first_frame.set_result(now - self.started_at)
                self.mark("frame")
            elif self.moving is not None and not self.moving.done():
                # The second frame: when the picture moves. After a cached keyframe (engine.keyframe) the
                # server sends nothing until the fresh keyframe, so this is that keyframe's arrival.
                self.moving.set_result(now - self.started_at)
                self.mark("live")

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.sources.values())

    def counts(self) -> dict[str, int]:
        """Packets per kind (and complete video frames as ``frames``)."""
        out = {"video": 0, "audio": 0, "frames": self.frames}
        for source in self.sources.values():
            out[source.kind] = out.get(source.kind, 0) + source.packets
        return out

    async def _send_reports(self) -> None:
        transport = self.pc.getTransceivers()[0].receiver.transport
        while True:
            await asyncio.sleep(0.5 + random.random())  # RFC 3550 §6.3.1: randomised around 1 s
            if not self.sources:
                continue
            rr = RtcpRrPacket(ssrc=self._rtcp_ssrc, reports=[s.report(k) for k, s in self.sources.items()])
            try:
                await transport._send_rtp(bytes(rr))
            except ConnectionError:
                return

    async def close(self) -> None:
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
            await asyncio.gather(self._rtcp_task, return_exceptions=True)
        await self.pc.close()


async def light_subscriber(url: str, http: ClientSession, within: float = 15) -> tuple[float | None, LightSubscriber]:
    """Join ``url``'s ``/whep`` with a :class:`LightSubscriber`; (seconds to the first complete video frame
    or None after ``within`` seconds, the subscriber)."""
    sub = LightSubscriber()
    offer = await sub.offer()
    async with http.post(url + "/whep", data=offer) as response:
        answer = await response.text()
    await sub.answer(answer)
    assert sub.first_frame is not None
    try:
        joined: float | None = await asyncio.wait_for(asyncio.shield(sub.first_frame), within)
    except TimeoutError:
        joined = None
    return joined, sub
