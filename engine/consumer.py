"""A Consumer: one subscribed track, fed RTP packets by a Producer and sent on the subscriber leg.

The subscriber leg is an ordinary aiortc ``RTCRtpSender`` whose track never yields a frame, so aiortc
encodes nothing; the Consumer writes each forwarded packet itself (new SSRC, renumbered, the subscriber's
payload type and header extension ids) and records it in the sender's RTP history, so the sender's own
NACK handling retransmits it over RTX (RFC 4588) and its sender reports (RFC 3550 §6.4.1) stay correct.
A PLI or FIR from the subscriber is passed to the Producer (throttled there). A Consumer that starts (or
switches source) while the keyframe it asked for is still on its way is first sent the source's cached last
keyframe (:mod:`engine.keyframe`), so the subscriber has a picture at once.

Per packet, the bytes are serialised once for all Consumers with the same header-extension layout, each
Consumer rewrites its own fixed-header fields in a copy, and :class:`~engine.srtp.SrtpSender` protects and
sends it on the leg's socket without aiortc's coroutine layers (aiortc's path when it cannot).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from aiortc import RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)

from engine.bitrate import Bitrate
from engine.events import CloseReason
from engine.rtp import StreamRewriter, keyframe_start, rewrite_header, serialize
from engine.srtp import SrtpSender


class PacketSource(Protocol):
    """What a Consumer is fed by: a publisher's :class:`~engine.producer.Producer`, or the compositor's
    program (:mod:`engine.program`)."""

    kind: str
    codec: RTCRtpCodecParameters

    def attach(self, consumer: Consumer) -> None: ...

    def detach(self, consumer: Consumer) -> None: ...

    def keyframe_needed(self) -> None: ...

    def keyframe(self, now: float) -> tuple[RTCRtpCodecParameters, list[RtpPacket]] | None:
        """The latest complete keyframe's packets, if recent (:class:`~engine.keyframe.KeyframeCache`)."""
        ...


log = logging.getLogger(__name__)


def codec_key(codec: RTCRtpCodecParameters) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return codec.mimeType.lower(), tuple(sorted((k, str(v)) for k, v in codec.parameters.items()))


class SilentTrack(MediaStreamTrack):
    """The sender's track: it never yields, so aiortc never encodes; the Consumer writes the packets."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._ended = asyncio.Event()

    async def recv(self) -> Any:
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()


class SentPacket:
    """An RTP history entry: what the sender's NACK handler reads (RFC 4588 RTX wraps these fields), with
    the bytes already serialised for a plain retransmission."""

    __slots__ = ("csrc", "data", "extensions", "marker", "payload", "payload_type", "sequence_number",
                 "ssrc", "timestamp")

    def __init__(self, payload_type: int, marker: int, seq: int, ts: int, ssrc: int, payload: bytes,
                 extensions: HeaderExtensions, data: bytes | bytearray) -> None:
        self.payload_type, self.marker, self.sequence_number, self.timestamp = payload_type, marker, seq, ts
        self.ssrc, self.payload, self.extensions, self.data = ssrc, payload, extensions, data
        self.csrc: list[int] = []

    def serialize(self, _extensions_map: Any = None) -> bytes:
        return bytes(self.data)


class Consumer:
    def __init__(self, stream_id: str, publisher: str, session_id: str, sender: RTCRtpSender,
                 codecs: list[RTCRtpCodecParameters]) -> None:
        self.stream_id = stream_id
        self.publisher = publisher
        self.session_id = session_id
        self.kind: str = sender.kind
        self.sender = sender
        self.producer: PacketSource | None = None
        self.closed = False
        self._payload_types = {codec_key(c): c.payloadType for c in codecs if not is_rtx(c)}
        clock_rate = next((c.clockRate for c in codecs if not is_rtx(c)), 90000)
        self._rewriter = StreamRewriter(clock_rate)
        self.waiting_keyframe = True
        self._primed = False  # a cached keyframe was tried for the current start (``_start_on_cached_keyframe``)
        self.first_packet_at: float | None = None
        self.last_rtcp_at = 0.0
        # stats
        self.packets = 0
        self.bytes = 0
        self.nacks_received = 0
        self.plis_received = 0
        self.cached_keyframes = 0  # starts on the source's cached keyframe
        self.packets_lost = 0
        self.dropped_codec = 0
        self.rate = Bitrate()
        self._state: dict[str, Any] | None = None
        self._ready = False
        self._fixed_elements: list[tuple[int, bytes]] = []
        self._abs_id = self._level_id = self._ssrc = 0
        self._history_extensions = HeaderExtensions()
        self._layout: tuple[Any, ...] = ()
        self._codec: RTCRtpCodecParameters | None = None
        self._codec_payload_type: int | None = None
        self._transport: Any = None
        self._srtp: SrtpSender | None = None
        self._hook_sender()

    def _hook_sender(self) -> None:
        sender = self.sender
        original_rtcp = sender._handle_rtcp_packet

        async def handle_rtcp(packet: Any) -> None:
            self.last_rtcp_at = time.monotonic()
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                self.nacks_received += 1
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                self.plis_received += 1
            elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                for report in packet.reports:
                    if report.ssrc == sender._ssrc:
                        self.packets_lost = max(0, report.packets_lost)
            await original_rtcp(packet)

        def keyframe_request() -> None:  # replaces "ask my encoder for a keyframe"
            if self.producer is not None:
                self.producer.keyframe_needed()

        setattr(sender, "_handle_rtcp_packet", handle_rtcp)  # noqa: B010 (shadowing on the instance)
        setattr(sender, "_send_keyframe", keyframe_request)  # noqa: B010

    @property
    def ready(self) -> bool:
        """The sender has started on a connected transport (checked until true; a transport that closes
        later makes sends fail with ``ConnectionError``, which ``send`` handles)."""
        if self._ready:
            return True
        self._ready = bool(getattr(self.sender, "_RTCRtpSender__started", False)) and (
            self.sender.transport.state == "connected"
        )
        if self._ready and self.waiting_keyframe and self.producer is not None:
            # Ask for the keyframe now that it can be delivered: one asked for at attach time, while ICE
            # and DTLS were still running, would have gone by and used up the PLI interval.
            self.producer.keyframe_needed()
        return self._ready

    @property
    def wants_keyframe(self) -> bool:
        """Connected and waiting for a keyframe: what makes the source keep asking its publisher."""
        return self.waiting_keyframe and self._ready

    def resume_from(self, producer: PacketSource) -> None:
        """Start (or restart after the publisher came back, or switch to or from the program) on the next
        keyframe of ``producer``."""
        if self.producer is not None and self.producer is not producer:
            self.producer.detach(self)
        self.waiting_keyframe = True
        self._primed = False
        producer.attach(self)

    async def send(self, packet: RtpPacket, codec: RTCRtpCodecParameters, now: float, ntp: int,
                   serialized: dict[tuple[Any, ...], bytes] | None = None) -> None:
        """Forward one packet; ``now`` (monotonic) and ``ntp`` (wall clock) are read once per packet.

        ``serialized`` is shared by every Consumer of one source packet: the packet is serialised once per
        header-extension layout (ids and MID negotiated by the subscriber) and each Consumer rewrites only
        its payload type, sequence number, timestamp and SSRC in a copy (:func:`engine.rtp.rewrite_header`).
        """
        if self.closed or not self.ready:
            return
        if codec is not self._codec:  # the source's codec object changes only when the publisher switches
            self._codec, self._codec_payload_type = codec, self._payload_types.get(codec_key(codec))
        payload_type = self._codec_payload_type
        if payload_type is None:
            self.dropped_codec += 1
            return
        if self.waiting_keyframe:
            if not keyframe_start(codec.name, packet.payload):
                if not self._primed:
                    await self._start_on_cached_keyframe(now, ntp)
                return
            self.waiting_keyframe = False
            self._primed = True
            self._rewriter.rebase(packet.sequence_number, packet.timestamp, now)
            if self.first_packet_at is None:
                self.first_packet_at = now
        mapped = self._rewriter.map(packet.sequence_number, packet.timestamp, now)
        if mapped is None:
            return
        await self._write(packet, payload_type, mapped, now, ntp, serialized)

    async def _start_on_cached_keyframe(self, now: float, ntp: int) -> None:
        """Send the source's last keyframe while a fresh one is on its way (once per start or switch).

        The subscriber gets its first picture now instead of after the PLI interval; the pictures after it
        are not sent (they reference frames it never got), so it keeps waiting for the fresh keyframe, whose
        ``rebase`` carries the numbering on from these packets."""
        self._primed = True
        cached = self.producer.keyframe(now) if self.producer is not None else None
        if cached is None:
            return
        codec, packets = cached
        payload_type = self._payload_types.get(codec_key(codec))
        if payload_type is None:
            return
        self._rewriter.rebase(packets[0].sequence_number, packets[0].timestamp, now)
        for packet in packets:
            mapped = self._rewriter.map(packet.sequence_number, packet.timestamp, now)
            if mapped is not None:
                await self._write(packet, payload_type, mapped, now, ntp, None)
        self.cached_keyframes += 1
        if self.first_packet_at is None:
            self.first_packet_at = now

    async def _write(self, packet: RtpPacket, payload_type: int, mapped: tuple[int, int], now: float, ntp: int,
                     serialized: dict[tuple[Any, ...], bytes] | None) -> None:
        state = self._state or self._bind()
        template = None if serialized is None else serialized.get(self._layout)
        if template is None:
            template = self._serialize(packet, ntp)
            if serialized is not None:
                serialized[self._layout] = template
        seq, ts = mapped
        payload = packet.payload
        data = rewrite_header(template, payload_type, seq, ts, self._ssrc)
        state["_RTCRtpSender__rtp_history"][seq % RTP_HISTORY_SIZE] = SentPacket(
            payload_type, packet.marker, seq, ts, self._ssrc, payload, self._history_extensions, data
        )
        if self._srtp is None or not self._srtp.send_now(data):
            try:  # aiortc's own path: TURN, TCP, not nominated yet, or closed (ConnectionError)
                await self._transport._send_rtp(bytes(data))
            except ConnectionError:
                return
        # What the sender's RTCP loop puts in its sender reports.
        state["_RTCRtpSender__ntp_timestamp"] = ntp
        state["_RTCRtpSender__rtp_timestamp"] = ts
        state["_RTCRtpSender__octet_count"] += len(payload)
        state["_RTCRtpSender__packet_count"] += 1
        self.packets += 1
        self.bytes += len(payload)
        self.rate.add(len(payload), now)

    def _serialize(self, packet: RtpPacket, ntp: int) -> bytes:
        """The packet with this subscriber's header extensions; payload type, numbers and SSRC zero."""
        elements = [*self._fixed_elements]
        if self._abs_id:  # abs-send-time: 6.18 fixed point seconds, the middle 24 bits of NTP time
            elements.append((self._abs_id, ((ntp >> 14) & 0x00FFFFFF).to_bytes(3, "big")))
        level = packet.extensions.audio_level
        if level is not None and self._level_id:  # RFC 6464 §3: V bit and level in -dBov
            elements.append((self._level_id, bytes([(0x80 if level[0] else 0) | (level[1] & 0x7F)])))
        return serialize(0, packet.marker, 0, 0, 0, elements, packet.payload)

    def _bind(self) -> dict[str, Any]:
        """Read, once the sender has started, what every packet needs: its fields, ids and transport."""
        sender = self.sender
        state: dict[str, Any] = vars(sender)  # the sender's private fields (see the module docstring)
        ids = vars(state["_RTCRtpSender__rtp_header_extensions_map"])["_HeaderExtensionsMap__ids"]
        mid = state["_RTCRtpSender__mid"]
        self._fixed_elements = [(ids.mid, mid.encode())] if ids.mid and mid else []
        self._abs_id = ids.abs_send_time or 0
        self._level_id = ids.audio_level or 0
        self._history_extensions = HeaderExtensions(mid=mid)
        self._ssrc = sender._ssrc
        self._layout = (tuple(self._fixed_elements), self._abs_id, self._level_id)
        self._transport = sender.transport
        self._srtp = SrtpSender(sender.transport)
        self._state = state
        return state

    def close(self, reason: CloseReason) -> None:
        if self.closed:
            return
        self.closed = True
        if self.producer is not None:
            self.producer.detach(self)
        log.debug("consumer closed", extra={"session_id": self.session_id, "reason": reason.value})

    def stats(self) -> dict[str, Any]:
        rtt = getattr(self.sender, "_RTCRtpSender__rtt", None)
        return {
            "stream_id": self.stream_id, "publisher": self.publisher, "session_id": self.session_id,
            "kind": self.kind, "packets": self.packets, "bytes": self.bytes,
            "bitrate_bps": self.rate.bps(time.monotonic()), "packets_lost": self.packets_lost,
            "nacks_received": self.nacks_received, "plis_received": self.plis_received,
            "rtt_s": rtt, "waiting_keyframe": self.waiting_keyframe, "cached_keyframes": self.cached_keyframes,
        }
