"""The forwarding send path: header rewrite on bytes, SRTP straight to the socket, aiortc's path as fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from engine.engine import Engine
from engine.rtp import rewrite_header, serialize
from engine.srtp import SrtpSender
from tests.engine.clients import publish, subscribe

EXTENSIONS = [
    RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
    RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
]


def extensions_map() -> HeaderExtensionsMap:
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=EXTENSIONS))
    return ext_map


def aiortc_packet(marker: int = 1) -> RtpPacket:
    packet = RtpPacket(payload_type=96, marker=marker, sequence_number=6000, timestamp=123456789,
                       ssrc=0x11223344, payload=bytes(range(200)))
    packet.extensions.mid = "0"
    packet.extensions.abs_send_time = 0x123456
    packet.extensions.audio_level = (True, 42)
    return packet


@pytest.mark.parametrize("marker", [0, 1])
def test_rewrite_keeps_everything_but_the_subscriber_fields(marker: int) -> None:
    ext_map = extensions_map()
    captured = aiortc_packet(marker).serialize(ext_map)
    rewritten = rewrite_header(captured, 111, 65535, 0xFFFFFFFE, 0xCAFEBABE)
    parsed = RtpPacket.parse(bytes(rewritten), ext_map)
    assert (parsed.payload_type, parsed.sequence_number, parsed.timestamp, parsed.ssrc) == (
        111, 65535, 0xFFFFFFFE, 0xCAFEBABE)
    assert parsed.marker == marker
    assert parsed.payload == bytes(range(200))
    assert parsed.extensions.mid == "0"
    assert parsed.extensions.abs_send_time == 0x123456
    assert parsed.extensions.audio_level == (True, 42)
    assert len(rewritten) == len(captured)
    assert captured[:1] == rewritten[:1] and captured[12:] == rewritten[12:]


def test_template_rewritten_equals_aiortc_serialisation() -> None:
    """What Consumer.send does: serialise with zero fields once, rewrite per subscriber."""
    ext_map = extensions_map()
    template = serialize(0, 1, 0, 0, 0, [(1, b"0"), (3, b"\x12\x34\x56"), (4, bytes([0x80 | 42]))],
                         bytes(range(200)))
    for pt, seq, ts, ssrc in [(96, 6000, 123456789, 0x11223344), (102, 0, 0, 1)]:
        packet = aiortc_packet()
        packet.payload_type, packet.sequence_number, packet.timestamp, packet.ssrc = pt, seq, ts, ssrc
        assert bytes(rewrite_header(template, pt, seq, ts, ssrc)) == packet.serialize(ext_map)


# --- a real ICE + DTLS-SRTP pair, as in aiortc's own tests (tests/utils.py) ----------------------------

Pair = tuple[RTCDtlsTransport, RTCDtlsTransport, list[bytes]]


@pytest.fixture
async def dtls_pair() -> AsyncIterator[Pair]:
    gatherers = [RTCIceGatherer(), RTCIceGatherer()]
    ices = [RTCIceTransport(g) for g in gatherers]
    ices[0]._connection.ice_controlling = True
    ices[1]._connection.ice_controlling = False
    await asyncio.gather(*(g.gather() for g in gatherers))
    for ice, other in ((ices[0], gatherers[1]), (ices[1], gatherers[0])):
        for candidate in other.getLocalCandidates():
            await ice.addRemoteCandidate(candidate)
        await ice.addRemoteCandidate(None)
    await asyncio.wait_for(asyncio.gather(ices[0].start(gatherers[1].getLocalParameters()),
                                          ices[1].start(gatherers[0].getLocalParameters())), 10)
    sender, receiver = (RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()]) for ice in ices)
    received: list[bytes] = []

    async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:  # after SRTP unprotect
        received.append(data)

    setattr(receiver, "_handle_rtp_data", handle_rtp)  # noqa: B010 (shadowing on the instance)
    await asyncio.wait_for(asyncio.gather(sender.start(receiver.getLocalParameters()),
                                          receiver.start(sender.getLocalParameters())), 10)
    yield sender, receiver, received
    for dtls in (sender, receiver):
        await dtls.stop()
    for ice in ices:
        await ice.stop()


async def until(condition: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def clear_packets(count: int) -> list[bytearray]:
    template = aiortc_packet().serialize(extensions_map())
    return [rewrite_header(template, 96, 1000 + n, 9000 * n, 0x5EED) for n in range(count)]


async def test_fast_path_packets_decrypt_at_a_real_receiver(dtls_pair: Pair) -> None:
    sender, _receiver, received = dtls_pair
    fast = SrtpSender(sender)
    packets = clear_packets(20)
    before = sender._RTCDtlsTransport__tx_packets  # type: ignore[attr-defined]
    assert all(fast.send_now(p) for p in packets)
    # aiortc's own path on the same session keeps the SRTP state in step (RFC 3711 §3.3.1 index)
    more = clear_packets(25)[20:]
    for packet in more:
        await sender._send_rtp(bytes(packet))
    await until(lambda: len(received) == 25)
    assert received == [bytes(p) for p in packets + more]
    assert fast.fast_packets == 20
    assert sender._RTCDtlsTransport__tx_packets - before == 25  # type: ignore[attr-defined]


async def test_declines_until_connected_and_after_close(dtls_pair: Pair) -> None:
    sender, _receiver, received = dtls_pair
    idle = RTCDtlsTransport(sender.transport, [RTCCertificate.generateCertificate()])
    assert not SrtpSender(idle).send_now(clear_packets(1)[0])  # DTLS not started: aiortc's path raises
    fast = SrtpSender(sender)
    assert fast.send_now(clear_packets(1)[0])
    await sender.transport._connection.close()  # ICE gone: no nominated pair
    assert not fast.send_now(clear_packets(2)[1])
    with pytest.raises(ConnectionError):  # the fallback's answer, which Consumer.send absorbs
        await sender._send_rtp(bytes(clear_packets(2)[1]))
    assert fast.fast_packets == 1
    await until(lambda: len(received) == 1)
    assert received == [bytes(clear_packets(1)[0])]


async def test_relayed_pair_takes_aiortcs_path(dtls_pair: Pair) -> None:
    """A TURN-relayed pair must go through aioice (Send indications or ChannelData, RFC 8656). There is no
    TURN server here, so the nominated host pair's local candidate is relabelled as aioice labels a relayed
    one; the packets then go through aiortc's path and still arrive."""
    sender, _receiver, received = dtls_pair
    fast = SrtpSender(sender)
    pair = sender.transport._connection._nominated[1]
    pair.protocol.local_candidate.type = "relay"
    packets = clear_packets(5)
    for packet in packets:
        if not fast.send_now(packet):
            await sender._send_rtp(bytes(packet))
    await until(lambda: len(received) == 5)
    assert received == [bytes(p) for p in packets]
    assert fast.fast_packets == 0


async def test_keyframe_is_asked_for_when_the_viewer_connects(engine: Engine) -> None:
    """A PLI sent at attach time, while ICE and DTLS still run, brings a keyframe nobody can receive and
    uses up the PLI interval (500 ms); the Consumer asks once it is connected instead."""
    pub = await publish(engine, "join", audio=False)
    first = await subscribe(engine, "join", audio=False)
    try:
        await first.wait_frames(5)
        producer = engine.session(pub.session_id).producers["video"]
        await asyncio.sleep(0.6)  # past the PLI interval of the first viewer's request
        before = producer.plis_sent
        viewer = await subscribe(engine, "join", audio=False)
        consumer = engine.session(viewer.session_id).consumers["video"]
        await asyncio.sleep(0)
        assert not consumer.ready and producer.plis_sent == before  # attached, not connected: no PLI yet
        await viewer.wait_frames(3)
        assert producer.plis_sent > before
        await viewer.close()
    finally:
        await first.close()
        await pub.close()


async def test_light_subscriber_counts_frames_and_reports(engine: Engine) -> None:
    """The fan-out benchmark's viewer: real ICE/DTLS, frames counted from clear headers, RTCP sent back."""
    from benchmarks.light_subscriber import LightSubscriber

    pub = await publish(engine, "light")
    sub = LightSubscriber()
    try:
        session = await engine.subscribe("light", await sub.offer())
        await sub.answer(session.answer)
        assert sub.first_frame is not None
        joined = await asyncio.wait_for(asyncio.shield(sub.first_frame), 15)
        assert 0 < joined < 15 and list(sub.marks) == ["answer", "dtls", "rtp", "frame"]
        consumer = engine.session(session.id).consumers["video"]
        await until(lambda: consumer.last_rtcp_at > 0 and sub.frames >= 10, within=10)
        counts = sub.counts()
        assert counts["audio"] > 0 and counts["video"] >= counts["frames"] >= 10
        video = next(s for s in sub.sources.values() if s.kind == "video")
        assert video.broken_frames == 0 and consumer.packets_lost == 0
    finally:
        await sub.close()
        await pub.close()


async def test_a_viewer_starts_on_the_cached_keyframe_then_goes_live(engine: Engine) -> None:
    """VP8 from aiortc sends keyframes only when asked. The second viewer joins within the PLI interval of
    the first one's request, so its own request waits; it is sent the cached keyframe at once (a picture
    from before it joined), none of the pictures after it, then the fresh keyframe and everything after."""
    pub = await publish(engine, "fast", codec="video/VP8", audio=False)
    first = await subscribe(engine, "fast", audio=False)
    try:
        await first.wait_frames(3)
        producer = engine.session(pub.session_id).producers["video"]
        assert producer.stats()["keyframes_cached"] >= 1
        joined_at_picture = pub.video.count
        viewer = await subscribe(engine, "fast", audio=False)
        await viewer.wait_frames(6)
        consumer = engine.session(viewer.session_id).consumers["video"]
        assert consumer.cached_keyframes == 1 and viewer.bad_frames == 0
        start, live = viewer.counters[0], viewer.counters[1:]
        assert start < joined_at_picture  # the cached picture
        assert live[0] > start + 1  # the pictures between it and the fresh keyframe were not sent
        assert live == list(range(live[0], live[0] + len(live)))  # then every picture, in order
        await viewer.close()
    finally:
        await first.close()
        await pub.close()
