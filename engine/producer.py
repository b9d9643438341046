"""A Producer: one published track, forwarded packet by packet to its Consumers without decoding.

The Producer hooks the publisher leg's ``RTCRtpReceiver`` at the packet seam (after SRTP, before the
jitter buffer): each RTP packet is handed to every Consumer as it came in, then to aiortc's own receive path,
which keeps doing the publisher-leg work: NACKs for lost packets (RFC 4585 §6.2.1), receiver reports, PLI on
loss, and the jitter buffer that feeds :mod:`engine.tap` for HLS and the compositor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpReceiver
from aiortc import clock as rtc_clock
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket, unwrap_rtx

from engine.bitrate import Bitrate
from engine.events import AudioLevel, CloseReason, EngineEvent
from engine.keyframe import KeyframeCache
from engine.tap import EncodedFrame, FrameSubscription, FrameTap

if TYPE_CHECKING:
    from engine.consumer import Consumer

log = logging.getLogger(__name__)

PLI_INTERVAL_S = 0.5  # at most one keyframe request per publisher per half second
# A new subscriber is sent the last keyframe at once if it is at most this old (engine.keyframe): with one
# request per PLI interval, the keyframe asked for by the previous join is at most that interval old.
KEYFRAME_MAX_AGE_S = 2 * PLI_INTERVAL_S
AUDIO_LEVEL_INTERVAL_S = 0.25


class Producer:
    def __init__(
        self,
        stream_id: str,
        publisher: str,
        receiver: RTCRtpReceiver,
        codecs: list[RTCRtpCodecParameters],
        emit: Callable[[EngineEvent], None],
    ) -> None:
        self.stream_id = stream_id
        self.publisher = publisher
        self.kind: str = receiver.track.kind
        self.receiver = receiver
        self.codecs = {c.payloadType: c for c in codecs}
        media = [c for c in codecs if not is_rtx(c)]
        self.codec: RTCRtpCodecParameters = media[0]
        self._emit = emit
        self.consumers: set[Consumer] = set()
        self.closed = False
        self.paused = False  # the room muted this publisher: packets are dropped, not forwarded
        self.media_ssrc: int | None = None
        self.last_packet_at = 0.0
        self._last_pli = 0.0
        self._level_min = 127
        self._level_voice = False
        self._level_at = 0.0
        # stats
        self.packets = 0
        self.bytes = 0
        self.plis_sent = 0
        self.nacks_sent = 0
        self.keyframes = 0
        self._decoded: set[FrameSubscription] = set()
        self._encoded: set[FrameSubscription] = set()
        self._decode_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.rate = Bitrate()
        self._tap = FrameTap(lambda: self.codec.name, self._on_encoded_frame)
        self._keyframe = KeyframeCache(KEYFRAME_MAX_AGE_S) if self.kind == "video" else None
        self._hook_receiver()

    # --- the packet seam ------------------------------------------------------------------------------

    def _hook_receiver(self) -> None:
        receiver = self.receiver
        # Instance attributes shadow the methods aiortc's DTLS transport calls (see the module docstring);
        # the decoder queue must be swapped before ``receive()`` starts the decoder thread with it.
        vars(receiver)["_RTCRtpReceiver__decoder_queue"] = self._tap
        original_rtp = receiver._handle_rtp_packet
        original_nack = receiver._send_rtcp_nack
        original_pli = receiver._send_rtcp_pli

        async def handle_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
            await self._forward(packet)
            await original_rtp(packet, arrival_time_ms)

        async def send_nack(media_ssrc: int, lost: list[int]) -> None:
            self.nacks_sent += 1
            await original_nack(media_ssrc, lost)

        async def send_pli(media_ssrc: int) -> None:
            self.plis_sent += 1
            self._last_pli = time.monotonic()
            await original_pli(media_ssrc)

        setattr(receiver, "_handle_rtp_packet", handle_rtp)  # noqa: B010 (shadowing on the instance)
        setattr(receiver, "_send_rtcp_nack", send_nack)  # noqa: B010
        setattr(receiver, "_send_rtcp_pli", send_pli)  # noqa: B010

    async def _forward(self, packet: RtpPacket) -> None:
        if self.closed or self.paused:
            return
        codec = self.codecs.get(packet.payload_type)
        if codec is None:
            return
        now = time.monotonic()
        self.last_packet_at = now
        self.packets += 1
        self.bytes += len(packet.payload)
        self.rate.add(len(packet.payload), now)
        if is_rtx(codec):
            apt = codec.parameters.get("apt")
            usable = isinstance(apt, int) and apt in self.codecs and len(packet.payload) >= 2
            if self.media_ssrc is None or not usable:
                return
            packet = unwrap_rtx(packet, payload_type=int(apt), ssrc=self.media_ssrc)  # type: ignore[arg-type]
            codec = self.codecs[packet.payload_type]
        else:
            self.media_ssrc = packet.ssrc
        if codec.payloadType != self.codec.payloadType:
            self.codec = codec
        if packet.extensions.audio_level is not None:
            self._audio_level(packet.extensions.audio_level, now)
        if self._keyframe is not None:
            self._keyframe.add(packet, codec, now)
        waiting = False
        ntp = rtc_clock.current_ntp_time()
        serialized: dict[tuple[Any, ...], bytes] = {}  # serialised once per header layout (Consumer.send)
        for consumer in tuple(self.consumers):
            await consumer.send(packet, codec, now, ntp, serialized)
            waiting = waiting or consumer.wants_keyframe
        if (waiting or self._tap.waiting_keyframe) and now - self._last_pli >= PLI_INTERVAL_S:
            await self.request_keyframe()

    def _audio_level(self, value: tuple[bool, int], now: float) -> None:
        voice, level = value
        self._level_min = min(self._level_min, level)
        self._level_voice = self._level_voice or voice
        if now - self._level_at >= AUDIO_LEVEL_INTERVAL_S:
            self._emit(AudioLevel(self.stream_id, self.publisher, self._level_min, self._level_voice))
            self._level_at = now
            self._level_min = 127
            self._level_voice = False

    async def request_keyframe(self) -> None:
        """Send a PLI (RFC 4585 §6.3.1) to the publisher, at most once per ``PLI_INTERVAL_S``."""
        if self.kind != "video" or self.media_ssrc is None or self.closed:
            return
        now = time.monotonic()
        if now - self._last_pli < PLI_INTERVAL_S:
            return
        self._last_pli = now
        await self.receiver._send_rtcp_pli(self.media_ssrc)

    def keyframe(self, now: float) -> tuple[RTCRtpCodecParameters, list[RtpPacket]] | None:
        return self._keyframe.packets(now) if self._keyframe is not None else None

    def keyframe_needed(self) -> None:
        """A Consumer is waiting: ask now (throttled); ``_forward`` keeps asking until it arrives."""
        if self.kind == "video" and not self.closed:
            task = asyncio.create_task(self.request_keyframe(), name=f"pli:{self.stream_id}")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("keyframe request failed: %s", task.exception())

    # --- consumers ------------------------------------------------------------------------------------

    def attach(self, consumer: Consumer) -> None:
        self.consumers.add(consumer)
        consumer.producer = self
        if consumer.ready:  # otherwise the Consumer asks once it is connected (Consumer.ready)
            self.keyframe_needed()

    def detach(self, consumer: Consumer) -> None:
        self.consumers.discard(consumer)
        if consumer.producer is self:
            consumer.producer = None

    # --- frames for HLS and the compositor -------------------------------------------------------------

    def encoded_frames(self) -> FrameSubscription:
        """Complete encoded frames from the jitter buffer (H.264 can be remuxed for HLS, not re-encoded)."""
        sub = FrameSubscription(self._encoded.discard)
        self._encoded.add(sub)
        self.keyframe_needed()  # a remuxer starts on a keyframe too
        return sub

    def decoded_frames(self) -> FrameSubscription:
        """Decoded frames: decoding starts (on a keyframe) with the first subscriber, stops after the last."""
        sub = FrameSubscription(self._decoded_closed)
        self._decoded.add(sub)
        if self._decode_task is None:
            self._tap.start_decoding()
            self._decode_task = asyncio.create_task(self._pump_decoded(), name=f"decode:{self.stream_id}")
            self.keyframe_needed()
        return sub

    @property
    def decoding(self) -> bool:
        return self._decode_task is not None

    def _decoded_closed(self, sub: FrameSubscription) -> None:
        self._decoded.discard(sub)
        if not self._decoded and self._decode_task is not None:
            self._tap.stop_decoding()
            self._decode_task.cancel()
            self._decode_task = None

    async def _pump_decoded(self) -> None:
        track = self.receiver.track
        while True:
            frame = await track.recv()
            for sub in tuple(self._decoded):
                sub.push(frame)

    def _on_encoded_frame(self, frame: EncodedFrame) -> None:
        if frame.keyframe and self.kind == "video":
            self.keyframes += 1
        for sub in tuple(self._encoded):
            sub.push(frame)

    # --- lifetime --------------------------------------------------------------------------------------

    def close(self, reason: CloseReason) -> None:
        """Idempotent. Consumers are detached (they pause, they do not close: a new Producer may come)."""
        if self.closed:
            return
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for consumer in tuple(self.consumers):
            self.detach(consumer)
        for sub in (*self._decoded, *self._encoded):
            sub.close()
        if self._decode_task is not None:
            self._tap.stop_decoding()
            self._decode_task.cancel()
            self._decode_task = None
        log.info("producer closed", extra={"stream_id": self.stream_id, "publisher": self.publisher,
                                           "kind": self.kind, "reason": reason.value})

    def stats(self) -> dict[str, Any]:
        lost = 0
        streams = getattr(self.receiver, "_RTCRtpReceiver__remote_streams", {})
        for stream in streams.values():
            lost += max(0, stream.packets_lost)
        return {
            "stream_id": self.stream_id, "publisher": self.publisher, "kind": self.kind,
            "codec": self.codec.mimeType, "packets": self.packets, "bytes": self.bytes,
            "bitrate_bps": self.rate.bps(time.monotonic()),
            "packets_lost": lost, "nacks_sent": self.nacks_sent, "plis_sent": self.plis_sent,
            "consumers": len(self.consumers), "decoding": self.decoding,
            "keyframes_cached": self._keyframe.kept if self._keyframe is not None else 0,
        }

