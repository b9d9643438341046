"""The push-fed source (the engine adapter's base) through a live ladder owned by the app."""

from __future__ import annotations

import asyncio
from fractions import Fraction

from api.state import HLS
from tests.conftest import AppFactory
from transcode.pattern import PatternSource
from transcode.pushsource import PushSource
from transcode.source import AccessUnit, Picture, Sound, SourceInfo
from transcode.transcoder import CloseReason


async def test_pushed_frames_make_a_ladder_and_app_shutdown_ends_it(make_client: AppFactory) -> None:
    client = await make_client()
    service = client.app[HLS]
    pattern = PatternSource(360, 640, duration=30.0, realtime=False, encoded=True)
    source = PushSource(SourceInfo(360, 640, Fraction(30), True, 2.0))
    transcoder = service.start_live("pushed", source)
    assert transcoder.ladder.top.copy
    pushed = 0
    async for item in pattern.items():
        if isinstance(item, Picture):
            source.push_picture(item.frame, item.time, item.keyframe)
            pushed += 1
            await asyncio.sleep(0)
            if pushed == 75:
                break
        elif isinstance(item, Sound):
            source.push_sound(item.frame, item.time)
        elif isinstance(item, AccessUnit):
            source.push_access_unit(item.data, item.time, item.keyframe)
    top = transcoder.rendition("360p")
    assert top is not None
    for _ in range(200):
        if top.segments:
            break
        await asyncio.sleep(0.02)
    assert top.segments and top.segments[0].duration == 2.0
    assert transcoder.running
    await client.close()  # the app closes the service, which stops the live
    assert not transcoder.running and transcoder.close_reason is CloseReason.SHUTDOWN
    assert top.ended and "#EXT-X-ENDLIST" in top.playlist_text
