"""The keyframe cache on packets built from the RFCs: completion, loss, reordering, wrap-around and age."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from engine.keyframe import KeyframeCache
from tests.engine.test_rtp import IDR, P_SLICE, PPS, SPS, fu_a, stap_a

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
IDR_END = bytes([0x65 & 0xE0 | 28, 0x40 | 5, 0x11])  # FU-A, E bit: the last fragment of the IDR


def rtp(seq: int, ts: int, payload: bytes, marker: int = 0) -> RtpPacket:
    return RtpPacket(payload_type=102, marker=marker, sequence_number=seq & 0xFFFF, timestamp=ts, payload=payload)


def keyframe(seq: int, ts: int) -> list[RtpPacket]:
    """An IDR access unit as a browser sends it: SPS and PPS aggregated (RFC 6184 §5.7.1), the IDR in FU-A
    fragments (§5.8), the marker bit on the last packet of the access unit (§5.1)."""
    return [rtp(seq, ts, stap_a(SPS, PPS)), rtp(seq + 1, ts, fu_a(IDR, start=True)),
            rtp(seq + 2, ts, IDR_END, marker=1)]


def delta(seq: int, ts: int) -> RtpPacket:
    return rtp(seq, ts, P_SLICE, marker=1)


def seqs(cache: KeyframeCache, now: float) -> list[int] | None:
    cached = cache.packets(now)
    return None if cached is None else [p.sequence_number for p in cached[1]]


def test_a_complete_keyframe_is_kept_in_order_until_the_next_one() -> None:
    cache = KeyframeCache(max_age_s=1.0)
    history = []
    for packet in [delta(9, 0), *keyframe(10, 3000)]:
        cache.add(packet, H264, now=0.0)
        history.append(seqs(cache, 0.0))
    for seq, ts in ((13, 6000), (14, 9000)):
        cache.add(delta(seq, ts), H264, now=0.1)
        history.append(seqs(cache, 0.1))
    assert history == [None, None, None, [10, 11, 12], [10, 11, 12], [10, 11, 12]]
    cached = cache.packets(0.1)
    assert cached is not None and cached[0] is H264
    next_key = keyframe(15, 12000)
    cache.add(next_key[0], H264, now=0.2)
    assert seqs(cache, 0.2) == [10, 11, 12]  # the new one is not complete yet: the last complete one serves
    for packet in next_key[1:]:
        cache.add(packet, H264, now=0.2)
    assert seqs(cache, 0.2) == [15, 16, 17] and cache.kept == 2


def test_a_gap_keeps_it_until_the_retransmission_fills_it() -> None:
    cache = KeyframeCache(max_age_s=1.0)
    first, middle, last = keyframe(100, 3000)
    cache.add(first, H264, now=0.0)
    cache.add(last, H264, now=0.0)
    cache.add(delta(103, 6000), H264, now=0.03)
    assert cache.packets(0.03) is None
    cache.add(middle, H264, now=0.05)  # unwrapped from RTX (RFC 4588) with its original number
    assert seqs(cache, 0.05) == [100, 101, 102]


def test_late_first_packet_and_sequence_wrap() -> None:
    cache = KeyframeCache(max_age_s=1.0)
    first, middle, last = keyframe(65534, 3000)
    cache.add(last, H264, now=0.0)  # not a start on its own, and nothing is pending: not kept
    cache.add(middle, H264, now=0.0)  # the IDR's first fragment starts it ...
    cache.add(first, H264, now=0.0)  # ... and the SPS/PPS before it, reordered, becomes its first packet
    assert cache.packets(0.0) is None
    cache.add(last, H264, now=0.02)  # retransmitted
    assert seqs(cache, 0.02) == [65534, 65535, 0]  # complete across the wrap
    sps_alone = rtp(65533, 3000, SPS)
    cache.add(rtp(2, 6000, fu_a(IDR, start=True)), H264, now=0.1)  # a new keyframe starts
    cache.add(rtp(3, 6000, IDR_END, marker=1), H264, now=0.1)
    cache.add(rtp(1, 6000, SPS), H264, now=0.1)  # its SPS, reordered: the access unit starts there
    assert seqs(cache, 0.1) == [1, 2, 3]
    cache.add(sps_alone, H264, now=0.2)  # an SPS of an old picture is a new start; the complete one stays
    assert seqs(cache, 0.2) == [1, 2, 3]


def test_too_old_is_not_offered() -> None:
    cache = KeyframeCache(max_age_s=1.0)
    for packet in keyframe(1, 3000):
        cache.add(packet, H264, now=5.0)
    assert seqs(cache, 6.0) == [1, 2, 3]
    assert cache.packets(6.01) is None


def test_vp8_key_frame() -> None:
    cache = KeyframeCache(max_age_s=1.0)
    key = bytes([0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00])  # RFC 7741 §4.2, S=1, frame tag P=0
    more = bytes([0x80, 0x80, 0x80, 0x01, 0xAA])  # the same picture's next packet (S=0)
    inter = bytes([0x90, 0x80, 0x80, 0x02, 0x11, 0x02, 0x00])
    cache.add(rtp(7, 90, inter, marker=1), VP8, now=0.0)
    cache.add(rtp(8, 180, key), VP8, now=0.0)
    cache.add(rtp(9, 180, more, marker=1), VP8, now=0.0)
    cached = cache.packets(0.0)
    assert cached is not None and cached[0] is VP8 and [p.sequence_number for p in cached[1]] == [8, 9]
