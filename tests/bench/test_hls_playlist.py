"""The hls players' playlist reading, on playlist text as the /hls edge serves it (RFC 8216bis)."""

from __future__ import annotations

import datetime as dt

import pytest

from benchmarks.toolkit.scenarios.hls import parse_media, pick_variant

MEDIA = b"""#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T03:00:00.000Z
#EXTINF:2.0,
seg266.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T03:00:02.000Z
#EXT-X-PART:DURATION=0.5,URI="part267.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part267.1.m4s"
#EXT-X-PART:DURATION=0.5,URI="part267.2.m4s"
#EXT-X-PART:DURATION=0.5,URI="part267.3.m4s"
#EXTINF:2.0,
seg267.m4s
#EXT-X-PART:DURATION=0.5,URI="part268.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part268.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part268.2.m4s"
#EXT-X-RENDITION-REPORT:URI="../720p/index.m3u8",LAST-MSN=268,LAST-PART=1
"""


def test_parts_are_numbered_by_segment_and_dated() -> None:
    playlist = parse_media(MEDIA.decode())
    assert playlist.can_block and playlist.part_target == 0.5 and not playlist.ended
    assert [(p.msn, p.index) for p in playlist.parts] == [(267, 0), (267, 1), (267, 2), (267, 3), (268, 0),
                                                          (268, 1)]
    # what a player asks for next: the part after the newest (_HLS_msn=268&_HLS_part=2)
    assert (playlist.next_msn, playlist.next_part) == (268, 2)
    start = dt.datetime(2026, 11, 27, 3, 0, 2, tzinfo=dt.UTC)
    assert playlist.parts[1].at == start + dt.timedelta(seconds=0.5)
    # the pending segment has no date line of its own: the previous one's date plus its EXTINF
    assert playlist.parts[5].at == start + dt.timedelta(seconds=2.5)
    assert playlist.parts[5].uri == "part268.1.m4s"


def test_a_playlist_ending_on_a_whole_segment_asks_for_the_next_segment() -> None:
    text = MEDIA.decode().split("#EXT-X-PART:DURATION=0.5,URI=\"part268.0")[0] + "#EXT-X-ENDLIST\n"
    playlist = parse_media(text)
    assert (playlist.next_msn, playlist.next_part) == (268, 0) and playlist.ended


MASTER = b"""#EXTM3U
#EXT-X-VERSION:9
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=720x1280,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=360x640,CODECS="avc1.64001e,mp4a.40.2"
360p/index.m3u8
"""


def test_variant_choice() -> None:
    assert pick_variant(MASTER.decode()) == "360p/index.m3u8"
    assert pick_variant(MASTER.decode(), highest=True) == "720p/index.m3u8"
    with pytest.raises(ValueError):
        pick_variant("#EXTM3U\n")
