"""Real aiortc peers through the engine: pixels arrive intact, nothing is decoded on the way."""

from __future__ import annotations

import pytest

from engine.engine import Engine
from tests.engine.clients import publish, subscribe


@pytest.mark.parametrize("codec", ["video/H264", "video/VP8"])
async def test_pattern_arrives_intact(engine: Engine, codec: str) -> None:
    pub = await publish(engine, "s1", codec=codec)
    viewer = await subscribe(engine, "s1")
    try:
        await viewer.wait_frames(30)
        assert viewer.bad_frames <= 1, viewer.bad_frames
        counters = viewer.counters
        assert counters == sorted(counters)
        assert counters[-1] - counters[0] >= 25
        assert viewer.audio_frames > 0
        producer = engine.session(pub.session_id).producers["video"]
        assert producer.codec.mimeType.lower() == codec.lower()
        assert not producer.decoding
        consumer = engine.session(viewer.session_id).consumers["video"]
        fast = consumer._srtp  # engine.srtp: the packets it sent straight to the socket
        assert fast is not None and fast.fast_packets == consumer.packets > 0
    finally:
        await viewer.close()
        await pub.pc.close()
