"""Payload facts and renumbering, on payloads built byte by byte from the RFCs."""

from __future__ import annotations

from engine.rtp import StreamRewriter, h264_keyframe_start, keyframe_start, vp8_keyframe_start

SPS = bytes([0x67, 0x42, 0xC0, 0x1F])
PPS = bytes([0x68, 0xCE, 0x3C, 0x80])
IDR = bytes([0x65, 0x88, 0x84])
P_SLICE = bytes([0x41, 0x9A, 0x02])


def stap_a(*nals: bytes) -> bytes:
    return bytes([0x18]) + b"".join(len(n).to_bytes(2, "big") + n for n in nals)


def fu_a(nal: bytes, start: bool) -> bytes:
    indicator = (nal[0] & 0xE0) | 28
    header = (0x80 if start else 0) | (nal[0] & 0x1F)
    return bytes([indicator, header]) + nal[1:]


def test_h264() -> None:
    assert h264_keyframe_start(SPS)
    assert h264_keyframe_start(IDR)
    assert h264_keyframe_start(stap_a(SPS, PPS))
    assert h264_keyframe_start(fu_a(IDR, start=True))
    assert not h264_keyframe_start(fu_a(IDR, start=False))
    assert not h264_keyframe_start(P_SLICE)
    assert not h264_keyframe_start(fu_a(P_SLICE, start=True))
    assert not h264_keyframe_start(stap_a(PPS))
    assert not h264_keyframe_start(b"")


def test_vp8() -> None:
    # RFC 7741 §4.2: X=1, S=1, PID=0; I=1 with a 15-bit picture id; then the frame tag (P bit 0 = key).
    key = bytes([0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00])
    inter = bytes([0x90, 0x80, 0x80, 0x01, 0x11, 0x02, 0x00])
    assert vp8_keyframe_start(key)
    assert not vp8_keyframe_start(inter)
    assert vp8_keyframe_start(bytes([0x10, 0x10]))  # no extension
    assert not vp8_keyframe_start(bytes([0x00, 0x10]))  # not the start of a partition
    assert not vp8_keyframe_start(bytes([0x90, 0x80]))  # truncated
    assert keyframe_start("opus", b"\x01")


def test_rewriter_continues_across_sources() -> None:
    rw = StreamRewriter(90000)
    rw.rebase(65534, 1000, now=0.0)
    assert rw.map(65534, 1000, 0.0) == (65534, 1000)
    assert rw.map(1, 4000, 0.1) == (1, 4000)  # wraps like the source
    assert rw.map(65533, 0, 0.1) is None  # from before the rebase point
    rw.rebase(500, 77, now=1.1)  # a new publisher: numbering carries on, time advances by the gap
    seq, ts = rw.map(500, 77, 1.1)  # type: ignore[misc]
    assert seq == 2
    assert ts == 4000 + 90000
    assert rw.map(501, 77 + 3000, 1.2) == (3, 4000 + 90000 + 3000)


def test_serialize_matches_aiortc() -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    from engine.rtp import serialize

    extmap = HeaderExtensionsMap()
    extmap.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
        RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
        RTCRtpHeaderExtensionParameters(id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
    ]))
    for mid, level in (("0", None), ("video1", (True, 42)), ("1", (False, 127))):
        packet = RtpPacket(payload_type=111, marker=1, sequence_number=65535, timestamp=2**32 - 1, ssrc=7,
                           payload=b"\x01\x02\x03")
        packet.extensions.mid = mid
        packet.extensions.abs_send_time = 0xABCDEF
        packet.extensions.audio_level = level
        elements = [(1, mid.encode()), (3, b"\xab\xcd\xef")]
        if level is not None:
            elements.append((2, bytes([(0x80 if level[0] else 0) | level[1]])))
        assert serialize(111, 1, 65535, 2**32 - 1, 7, elements, b"\x01\x02\x03") == packet.serialize(extmap)
    assert serialize(96, 0, 1, 2, 3, [], b"x") == RtpPacket(96, 0, 1, 2, 3, b"x").serialize()
