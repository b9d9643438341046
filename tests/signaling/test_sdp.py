"""SDP helpers on captured offers (tests/data: a real Chromium offer and a real FFmpeg WHIP offer)."""

from __future__ import annotations

import pytest

from signaling.sdp import (
    IceServer,
    SdpError,
    announce_address,
    check_offer,
    ice_credentials,
    ice_server_links,
    parse_sdpfrag,
)
from tests.signaling.conftest import DATA

CHROMIUM = (DATA / "chromium_whip_offer.sdp").read_text()
FFMPEG = (DATA / "ffmpeg_whip_offer.sdp").read_text()


def test_chromium_offer() -> None:
    offer = check_offer(CHROMIUM, publish=True)
    assert offer.kinds == ["audio", "video"]
    assert "opus" in offer.media[0].codecs
    assert {"h264", "vp8"} <= set(offer.media[1].codecs)
    assert all(m.direction == "sendonly" for m in offer.media)


def test_ffmpeg_offer() -> None:
    offer = check_offer(FFMPEG, publish=True)
    assert offer.kinds == ["audio", "video"]
    assert offer.media[1].codecs == ["h264", "rtx"]
    assert ice_credentials(FFMPEG)[0] is not None


def test_a_publish_offer_is_not_a_play_offer() -> None:
    with pytest.raises(SdpError, match="recvonly"):
        check_offer(FFMPEG, publish=False)


@pytest.mark.parametrize(
    "text",
    ["", "hello", "v=0\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=video x\r\n", "v=0\nbad line\n"],
)
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(SdpError) as info:
        check_offer(text, publish=True)
    assert not info.value.unsupported


def test_no_media() -> None:
    with pytest.raises(SdpError, match="no audio or video"):
        check_offer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", publish=True)


def test_unforwardable_codecs() -> None:
    vp9_only = FFMPEG.replace("H264/90000", "VP9/90000").replace("opus/48000/2", "PCMU/8000")
    with pytest.raises(SdpError) as info:
        check_offer(vp9_only, publish=True)
    assert info.value.unsupported
    assert "vp9" in str(info.value) and "pcmu" in str(info.value)


def test_sdpfrag() -> None:
    # The shape of RFC 8840 §9 / RFC 9725 §4.3.1's example.
    frag = (
        "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
        "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw\r\n"
        "a=end-of-candidates\r\n"
    )
    parsed = parse_sdpfrag(frag)
    assert (parsed.ufrag, parsed.pwd) == ("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1")
    assert parsed.candidates == [("0", None, frag.split("\r\n")[4][2:])]
    assert parsed.end_of_candidates
    with pytest.raises(SdpError):
        parse_sdpfrag("a=candidate:1 1 udp\r\n")


def test_ice_server_links() -> None:
    links = ice_server_links(
        [IceServer("stun:stun.example.net"), IceServer("turn:turn.example.net?transport=udp", "user", 'p"w')]
    )
    assert links[0] == '<stun:stun.example.net>; rel="ice-server"'
    assert links[1] == (
        '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; '
        'credential="p\\"w"; credential-type="password"'
    )


def test_announce_address() -> None:
    sdp = (
        "v=0\r\na=candidate:1 1 udp 2122260223 10.0.0.5 40000 typ host\r\n"
        "a=candidate:2 1 udp 1 ::1 4 typ host\r\n"
    )
    out = announce_address(sdp, "203.0.113.7").split("\r\n")
    assert out[2] == "a=candidate:19 1 udp 2122260223 203.0.113.7 40000 typ host"
    assert sum("203.0.113.7" in line for line in out) == 1
    with pytest.raises(ValueError):
        announce_address(sdp, "not-an-ip")
