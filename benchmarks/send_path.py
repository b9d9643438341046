"""The SFU's send path in one process: thread CPU per packet and subscriber, before and after, in one run.

    python -m benchmarks.send_path [--subscribers 20] [--packets 300] [--repeats 5]

An Engine, a publisher sending the pre-encoded 720p clip of :mod:`benchmarks.sfu_fanout` and N light
subscribers (:mod:`benchmarks.light_subscriber`) in this process. Once every subscriber has a frame, the
publisher is paused (its packets dropped) and the last ``--packets`` video packets it sent are replayed by
hand to every video Consumer, renumbered so they are new, through three send paths, interleaved per repeat:

- ``aiortc``: the path before this change, reproduced: each Consumer serialises the packet with its own
  header extensions and awaits aiortc's ``RTCDtlsTransport._send_rtp`` (SRTP, then ICE transport, aioice
  connection, protocol, ``sendto``);
- ``socket``: ``Consumer.send`` without a shared serialisation: rewrite, SRTP, ``sendto`` on the pair;
- ``shared``: ``Consumer.send`` as the Producer calls it, the packet serialised once for all Consumers.

Each repeat measures ``time.thread_time`` over the whole loop (nothing in it suspends: every send completes
synchronously) and divides by packets x subscribers; the median of the repeats is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import deque
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc import clock as rtc_clock
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

from benchmarks.light_subscriber import LightSubscriber
from benchmarks.sfu_fanout import ClipTrack, make_clip
from engine.consumer import Consumer, SentPacket, codec_key
from engine.engine import Engine
from engine.producer import Producer
from engine.rtp import serialize


async def aiortc_send(self: Consumer, packet: RtpPacket, codec: Any, now: float, ntp: int) -> None:
    """``Consumer.send`` as it was before the send-path change (per-subscriber serialisation, aiortc's
    coroutine layers), on the same Consumer fields."""
    payload_type = self._payload_types.get(codec_key(codec))
    mapped = self._rewriter.map(packet.sequence_number, packet.timestamp, now)
    if payload_type is None or mapped is None:
        return
    state = self._state or self._bind()
    elements = [*self._fixed_elements]
    if self._abs_id:
        elements.append((self._abs_id, ((ntp >> 14) & 0x00FFFFFF).to_bytes(3, "big")))
    level = packet.extensions.audio_level
    if level is not None and self._level_id:
        elements.append((self._level_id, bytes([(0x80 if level[0] else 0) | (level[1] & 0x7F)])))
    seq, ts = mapped
    payload = packet.payload
    data = serialize(payload_type, packet.marker, seq, ts, self._ssrc, elements, payload)
    state["_RTCRtpSender__rtp_history"][seq % RTP_HISTORY_SIZE] = SentPacket(
        payload_type, packet.marker, seq, ts, self._ssrc, payload, self._history_extensions, data
    )
    try:
        await self._transport._send_rtp(data)
    except ConnectionError:
        return
    state["_RTCRtpSender__ntp_timestamp"] = ntp
    state["_RTCRtpSender__rtp_timestamp"] = ts
    state["_RTCRtpSender__octet_count"] += len(payload)
    state["_RTCRtpSender__packet_count"] += 1
    self.packets += 1
    self.bytes += len(payload)
    self.rate.add(len(payload), now)


async def publish(engine: Engine) -> RTCPeerConnection:
    clip = make_clip()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(ClipTrack("video", clip), direction="sendonly")
    pc.addTransceiver(ClipTrack("audio", clip), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    pc.getTransceivers()[0].setCodecPreferences(
        [c for c in caps if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"]
    )
    await pc.setLocalDescription(await pc.createOffer())
    session = await engine.publish("bench", pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(session.answer, "answer"))
    return pc


async def measure(subscribers: int, packets: int, repeats: int) -> dict[str, list[float]]:
    captured: deque[RtpPacket] = deque(maxlen=packets)
    original = Producer._forward

    async def capture(self: Producer, packet: RtpPacket) -> None:
        if self.kind == "video" and not self.paused:
            captured.append(packet)
        await original(self, packet)

    Producer._forward = capture  # type: ignore[method-assign]
    engine = Engine()
    await engine.start()
    subs: list[LightSubscriber] = []
    publisher = await publish(engine)
    try:
        consumers: list[Consumer] = []
        for _ in range(subscribers):
            sub = LightSubscriber()
            session = await engine.subscribe("bench", await sub.offer())
            await sub.answer(session.answer)
            subs.append(sub)
            consumers.append(engine.session(session.id).consumers["video"])
        await asyncio.wait_for(asyncio.gather(*(s.first_frame for s in subs if s.first_frame)), 60)
        await asyncio.sleep(packets / 150 + 1)  # the clip sends ~150 video packets a second
        producer = consumers[0].producer
        assert isinstance(producer, Producer) and len(captured) == packets
        producer.paused = True
        await asyncio.sleep(0.2)
        codec = producer.codec
        seq, ts = captured[-1].sequence_number, captured[-1].timestamp
        results: dict[str, list[float]] = {"aiortc": [], "socket": [], "shared": []}
        for _ in range(repeats):
            for mode in results:
                replay = []
                for source in captured:
                    seq = (seq + 1) & 0xFFFF
                    ts = (ts + (3000 if source.marker else 0)) & 0xFFFFFFFF
                    packet = RtpPacket(source.payload_type, source.marker, seq, ts, source.ssrc, source.payload)
                    packet.extensions = source.extensions
                    replay.append(packet)
                before = time.thread_time()
                for packet in replay:
                    now, ntp = time.monotonic(), rtc_clock.current_ntp_time()
                    shared: dict[tuple[Any, ...], bytes] = {}
                    for consumer in consumers:
                        if mode == "aiortc":
                            await aiortc_send(consumer, packet, codec, now, ntp)
                        else:
                            await consumer.send(packet, codec, now, ntp, shared if mode == "shared" else None)
                results[mode].append((time.thread_time() - before) / (len(replay) * len(consumers)))
                await asyncio.sleep(0.3)  # let the subscribers drain their sockets
        fast = sum(c._srtp.fast_packets for c in consumers if c._srtp is not None)
        assert fast > 0, "the fast path never ran"
        return results
    finally:
        Producer._forward = original  # type: ignore[method-assign]
        for sub in subs:
            await sub.close()
        await publisher.close()
        await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--packets", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(measure(args.subscribers, args.packets, args.repeats))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"{args.subscribers} subscribers x {args.packets} video packets, median of {args.repeats}; "
          f"load average {' '.join(load)}")
    base = statistics.median(results["aiortc"])
    for mode, values in results.items():
        median = statistics.median(values)
        print(f"{mode:<7} {median * 1e6:6.1f} µs/packet/subscriber  (x{base / median:.2f} vs aiortc; "
              f"runs {', '.join(f'{v * 1e6:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
