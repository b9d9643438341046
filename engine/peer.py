"""A Peer: one WHIP or WHEP session, i.e. one ``RTCPeerConnection`` and the Producers or Consumers on it.

Negotiation is offer/answer with the client as offerer (RFC 9725 §4.2). The server gathers all its
candidates before answering (aiortc has no local trickle), accepts remote trickled candidates, and
restricts the answer to codecs it forwards as they are: H.264 (packetization-mode 1), VP8 and Opus.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import is_rtx
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.sdp import candidate_from_sdp

from engine.consumer import Consumer, PacketSource, SilentTrack, codec_key
from engine.errors import BadOffer, UnsupportedMedia
from engine.events import CloseReason, EngineEvent, SessionRole
from engine.producer import Producer

log = logging.getLogger(__name__)

# Video codecs in order of preference: H.264 first so the HLS top rung can be the source remuxed.
_VIDEO_ORDER = (("video/h264", "42e01f"), ("video/h264", "42001f"), ("video/vp8", None))


def forwardable(kind: str) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities for ``kind`` restricted to what the engine forwards, in preference order."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    rtx = [c for c in caps if is_rtx(c)]
    if kind == "audio":
        return [c for c in caps if c.mimeType.lower() == "audio/opus"]
    ordered = []
    for mime, profile in _VIDEO_ORDER:
        for c in caps:
            level = c.parameters.get("profile-level-id")
            if c.mimeType.lower() == mime and (profile is None or level == profile):
                ordered.append(c)
    return ordered + rtx


def preferring(kind: str, first: Any | None) -> list[RTCRtpCodecCapability]:
    """Forwardable codecs with the one matching ``first`` (an ``RTCRtpCodecParameters``) leading."""
    caps = forwardable(kind)
    if first is None:
        return caps
    lead = [c for c in caps if not is_rtx(c) and codec_key(c) == codec_key(first)]  # type: ignore[arg-type]
    return lead + [c for c in caps if c not in lead]


class Peer:
    def __init__(self, role: SessionRole, stream_id: str, publisher: str, ice_servers: Sequence[RTCIceServer],
                 emit: Callable[[EngineEvent], None]) -> None:
        self.id = secrets.token_urlsafe(16)
        self.etag = f'"{secrets.token_hex(8)}"'
        self.role = role
        self.stream_id = stream_id
        self.publisher = publisher
        self.created_at = time.monotonic()
        self.connected_at: float | None = None
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self.closed = False
        self.close_reason: CloseReason | None = None
        self._emit = emit
        self.answer_sdp = ""

        self.client = ""  # the offer's o= username, e.g. "FFmpeg", "-" (browsers)

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()
            elif self.pc.connectionState == "failed" and self.connected_at is None:
                self._log_failure()

    def _log_failure(self) -> None:
        dtls = [t.receiver.transport for t in self.pc.getTransceivers()]
        if not any(d.state == "failed" for d in dtls):
            log.warning("ICE failed before connecting", extra={"session_id": self.id})
            return
        hint = ""
        if self.client.lower() == "ffmpeg":
            hint = (
                "; FFmpeg's WHIP muxer makes its DTLS key on curve P-224 unless given one, and the OpenSSL "
                "in this server (cryptography's wheel, OpenSSL 4) no longer offers P-224 for TLS: pass the "
                "muxer cert_file/key_file options with a P-256 certificate (README: Publishing with FFmpeg)"
            )
        log.warning("DTLS handshake failed" + hint, extra={"session_id": self.id, "client": self.client})

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    async def _negotiate(self, offer: str, kinds: list[str]) -> None:
        origin = next((line for line in offer.splitlines() if line.startswith("o=")), "o=")
        self.client = origin[2:].split(" ")[0]
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        except OperationError as exc:
            raise UnsupportedMedia(f"no offered codec can be forwarded (H.264, VP8, Opus): {exc}") from None
        except (ValueError, InvalidAccessError, InvalidStateError, InternalError, LookupError) as exc:
            raise BadOffer(f"the SDP offer could not be applied: {exc}") from None
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self.answer_sdp = self.pc.localDescription.sdp

    async def answer_publish(self, offer: str, kinds: list[str], prefer: dict[str, Any]) -> str:
        """Receive every offered audio/video section; ``prefer`` maps kind to the stream's previous codec."""
        for kind in kinds:
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(preferring(kind, prefer.get(kind)))
        await self._negotiate(offer, kinds)
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is None or transceiver.kind not in ("audio", "video"):
                continue
            if transceiver.direction == "inactive" or not transceiver._codecs:
                continue
            kind = transceiver.kind
            if kind in self.producers:
                continue  # one track per kind per publisher; extra sections are answered but not forwarded
            self.producers[kind] = Producer(self.stream_id, self.publisher, transceiver.receiver,
                                            transceiver._codecs, self._emit)
        if not self.producers:
            raise UnsupportedMedia("the offer has no audio or video the engine can receive")
        return self.answer_sdp

    async def answer_subscribe(self, offer: str, kinds: list[str], producers: Mapping[str, PacketSource]) -> str:
        for kind in kinds:
            source = producers.get(kind)
            transceiver = self.pc.addTransceiver(SilentTrack(kind), direction="sendonly")
            transceiver.setCodecPreferences(preferring(kind, source.codec if source else None))
        await self._negotiate(offer, kinds)
        for transceiver in self.pc.getTransceivers():
            kind = transceiver.kind
            if kind in self.consumers or not transceiver._codecs or transceiver.sender.track is None:
                continue
            self.consumers[kind] = Consumer(self.stream_id, self.publisher, self.id, transceiver.sender,
                                            transceiver._codecs)
        if not self.consumers:
            raise UnsupportedMedia("the offer has no audio or video the engine can send")
        return self.answer_sdp

    async def add_candidates(self, candidates: list[tuple[str | None, int | None, str]], end: bool) -> None:
        """Remote trickled candidates (RFC 8840): (mid, m-line index, ``candidate:...`` attribute value)."""
        for mid, index, value in candidates:
            candidate = candidate_from_sdp(value.removeprefix("candidate:"))
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = index if mid is None else None
            if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
                candidate.sdpMLineIndex = 0
            await self.pc.addIceCandidate(candidate)
        if end:
            await self.pc.addIceCandidate(None)

    def last_activity(self) -> float:
        """When the client was last heard from: an RTP packet from a publisher, RTCP from a subscriber."""
        times = [self.connected_at or self.created_at]
        times += [p.last_packet_at for p in self.producers.values()]
        times += [c.last_rtcp_at for c in self.consumers.values()]
        return max(times)

    def sending(self) -> bool:
        return any(c.producer is not None and not c.waiting_keyframe for c in self.consumers.values())

    async def close(self, reason: CloseReason) -> None:
        """Close producers and consumers, then the connection (its tasks, threads and sockets). Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        for producer in self.producers.values():
            producer.close(reason)
        for consumer in self.consumers.values():
            consumer.close(reason)
        await close_peer_connection(self.pc)

    def stats(self) -> dict[str, Any]:
        return {
            "session_id": self.id, "role": self.role.value, "stream_id": self.stream_id,
            "publisher": self.publisher, "state": self.state,
            "producers": [p.stats() for p in self.producers.values()],
            "consumers": [c.stats() for c in self.consumers.values()],
        }


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """``pc.close()``, plus the clean-up aiortc misses when a close races its connect task.

    aiortc connects in an unowned task; if ``close()`` lands while ICE is completing, aioice's ``connect()``
    resumes afterwards and starts a consent-freshness task (RFC 7675) on the closed agent, which then loops
    forever over no candidate pairs, and a sender or receiver may start on a stopped transport.
    So: make consent checks of a closing agent return at once, and stop senders and receivers again once
    the connect task has had its turn (which also ends a receiver's decoder thread).
    """
    connections = []
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        connections.append(connection)
        original = connection.query_consent

        async def query_consent(connection: Any = connection, original: Any = original) -> None:
            if not connection._closing:
                await original()

        setattr(connection, "query_consent", query_consent)  # noqa: B010 (shadowing on the instance)
    try:
        await asyncio.shield(pc.close())
    except Exception:  # a half-negotiated connection can fail while closing; it is gone either way
        log.warning("error closing peer connection", exc_info=True)
    await asyncio.sleep(0)
    for transceiver in pc.getTransceivers():
        task = vars(transceiver.sender).get("_RTCRtpSender__rtcp_task")
        if task is not None and not task.done():
            await transceiver.sender.stop()
        task = vars(transceiver.receiver).get("_RTCRtpReceiver__rtcp_task")
        if task is not None and not task.done():
            await transceiver.receiver.stop()
    for connection in connections:
        task = connection._query_consent_task
        if task is not None and not task.done():
            task.cancel()
