"""Publishers come and go, co-hosts share a room, vanished peers are reaped; events tell the room service."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from engine.engine import Engine
from engine.errors import StreamNotLive
from engine.events import (
    AudioLevel,
    CloseReason,
    EngineEvent,
    ProducerClosed,
    ProducerOpened,
    SessionClosed,
    SubscriberPaused,
    SubscriberResumed,
)
from tests.engine.clients import loopback_peer_connection, publish, read_counter, subscribe


def record(engine: Engine) -> list[EngineEvent]:
    events: list[EngineEvent] = []
    engine.on_event(events.append)
    return events


async def closed_event(events: list[EngineEvent], session_id: str, within: float = 15.0) -> SessionClosed:
    """The SessionClosed event of ``session_id`` (emitted once its connection has finished closing)."""
    for _ in range(int(within * 10)):
        for event in events:
            if isinstance(event, SessionClosed) and event.session_id == session_id:
                return event
        await asyncio.sleep(0.1)
    raise AssertionError(f"{session_id} was not closed within {within} s")


def drop_outgoing(pc: RTCPeerConnection, rate: float, seed: int = 7) -> None:
    """Lose ``rate`` of the SRTP packets ``pc`` sends (STUN, DTLS and SRTCP still flow) at its UDP sockets:
    real network loss, below the engine's send path (which writes to the socket itself, engine/srtp.py)."""
    rng = random.Random(seed)
    for transceiver in pc.getTransceivers():
        for protocol in transceiver.sender.transport.transport._connection._protocols:
            udp = protocol.transport
            original = udp.sendto

            def sendto(data: bytes, addr: Any = None, original: Any = original) -> None:
                # RFC 7983 §7: 128-191 is RTP or RTCP; RFC 5761 §4: RTCP packet types are 192-223.
                is_rtp = 127 < data[0] < 192 and not 192 <= data[1] <= 223
                if not is_rtp or rng.random() >= rate:
                    original(data, addr)

            setattr(udp, "sendto", sendto)  # noqa: B010


async def test_publisher_leaves_and_comes_back(engine: Engine) -> None:
    events = record(engine)
    first = await publish(engine, "room")
    viewer = await subscribe(engine, "room")
    await viewer.wait_frames(10)
    await engine.close_session(first.session_id)
    await first.pc.close()
    assert any(isinstance(e, SubscriberPaused) and e.session_id == viewer.session_id for e in events)
    assert any(isinstance(e, ProducerClosed) and e.reason is CloseReason.CLIENT_REQUEST for e in events)
    assert engine.session(viewer.session_id)  # the viewer stays connected, waiting
    second = await publish(engine, "room", first=2000)
    assert any(isinstance(e, SubscriberResumed) for e in events)
    for _ in range(150):
        if sum(n >= 2000 for n in viewer.counters) >= 5:
            break
        await asyncio.sleep(0.05)
    resumed = [n for n in viewer.counters if n >= 2000]
    assert len(resumed) >= 5, viewer.counters[-5:]
    assert resumed == sorted(resumed)
    await viewer.close()
    await second.pc.close()


async def test_cohosts_and_choosing_a_producer(engine: Engine) -> None:
    events = record(engine)
    host = await publish(engine, "room")
    guest = await publish(engine, "room", publisher="guest", first=1000, codec="video/VP8")
    opened = {(e.publisher, e.kind) for e in events if isinstance(e, ProducerOpened)}
    assert opened == {("host", "video"), ("host", "audio"), ("guest", "video"), ("guest", "audio")}
    # A co-host watches the other co-host; a viewer watches the host.
    on_guest = await subscribe(engine, "room", publisher="guest")
    on_host = await subscribe(engine, "room")
    await asyncio.gather(on_guest.wait_frames(10), on_host.wait_frames(10))
    assert all(n >= 1000 for n in on_guest.counters)
    assert all(n < 1000 for n in on_host.counters)
    with pytest.raises(StreamNotLive):
        await subscribe(engine, "room", publisher="nobody")
    levels = [e for e in events if isinstance(e, AudioLevel)]
    assert {e.publisher for e in levels} == {"host", "guest"}  # RFC 6464 levels from aiortc's senders
    assert len(engine.routers) == 1
    await engine.end_stream("room")
    assert engine.routers == {} and engine.sessions() == []
    reasons = {e.reason for e in events if isinstance(e, SessionClosed)}
    assert reasons == {CloseReason.STREAM_ENDED}
    for peer in (on_guest, on_host):
        await peer.close()
    for pub in (host, guest):
        await pub.pc.close()


async def test_ten_percent_loss_on_the_publisher_leg(engine: Engine) -> None:
    pub = await publish(engine, "lossy", audio=False)
    drop_outgoing(pub.pc, 0.10)
    viewer = await subscribe(engine, "lossy", audio=False)
    await viewer.wait_frames(60, within=25)
    producer = engine.session(pub.session_id).producers["video"]
    assert producer.nacks_sent > 0  # the publisher leg asked for retransmissions...
    assert viewer.bad_frames <= 3, viewer.bad_frames  # ...and the pattern still arrives readable
    assert viewer.counters == sorted(viewer.counters)
    await viewer.close()
    await pub.pc.close()


async def test_ten_percent_loss_on_the_subscriber_leg(engine: Engine) -> None:
    pub = await publish(engine, "lossy-out", audio=False)
    viewer = await subscribe(engine, "lossy-out", audio=False)
    drop_outgoing(engine.session(viewer.session_id).pc, 0.10)  # the server's sends to this viewer
    await viewer.wait_frames(60, within=25)
    consumer = engine.session(viewer.session_id).consumers["video"]
    assert consumer.nacks_received > 0  # the viewer asked the engine to retransmit (RTX from history)...
    assert viewer.bad_frames <= 3, viewer.bad_frames  # ...and got the pattern intact
    assert viewer.counters == sorted(viewer.counters)
    await viewer.close()
    await pub.pc.close()


async def test_vanished_publisher_is_reaped(make_engine: Callable[..., Any]) -> None:
    engine: Engine = await make_engine(media_timeout_s=1.5, reap_interval_s=0.2, connect_timeout_s=3.0)
    events = record(engine)
    pub = await publish(engine, "gone")
    viewer = await subscribe(engine, "gone")
    await viewer.wait_frames(5)
    drop_outgoing(pub.pc, 1.0)  # the network to the publisher is gone: no DELETE, no DTLS close
    closed = await closed_event(events, pub.session_id)
    assert closed.reason is CloseReason.PEER_GONE
    # A client that never completes the handshake is reaped too.
    stalled = loopback_peer_connection()
    stalled.addTransceiver("video", direction="sendonly")
    await stalled.setLocalDescription(await stalled.createOffer())
    session = await engine.publish("stalled", stalled.localDescription.sdp)
    assert (await closed_event(events, session.id)).reason is CloseReason.CONNECT_TIMEOUT
    assert "stalled" not in engine.routers
    await stalled.close()
    await viewer.close()
    await pub.pc.close()


async def test_decoded_and_encoded_frames_for_hls(engine: Engine) -> None:
    pub = await publish(engine, "hls", audio=False)
    producer = engine.session(pub.session_id).producers["video"]
    assert not producer.decoding
    encoded = producer.encoded_frames()
    decoded = producer.decoded_frames()
    assert producer.decoding
    frame = await asyncio.wait_for(decoded.get(), 10)
    assert read_counter(frame) is not None
    first = await asyncio.wait_for(encoded.get(), 10)
    while not first.keyframe:
        first = await asyncio.wait_for(encoded.get(), 10)
    assert first.codec == "H264" and first.data.startswith(b"\x00\x00\x00\x01")
    decoded.close()
    assert not producer.decoding  # the last pixel consumer gone: decoding stops
    encoded.close()
    await pub.pc.close()
