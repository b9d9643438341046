"""RTP payload facts the forwarder needs, as pure functions over payload bytes (no I/O).

A Consumer joins mid-stream, so it must start on the first packet of a keyframe and must renumber
sequence numbers and timestamps so that a subscriber sees one continuous stream even when the publisher
leaves and a new one takes its place (RFC 3550 §5.1: a receiver treats a jump as loss or a new source).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from aiortc.rtp import pack_header_extensions

# H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packet types (RFC 6184 §5.2).
_NAL_IDR = 5
_NAL_SPS = 7
_STAP_A = 24
_FU_A = 28


def h264_keyframe_start(payload: bytes) -> bool:
    """True if this RTP payload (RFC 6184) begins an IDR access unit (an SPS, or the start of an IDR)."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (_NAL_IDR, _NAL_SPS):
        return True
    if nal_type == _STAP_A:
        # RFC 6184 §5.7.1: 16-bit size, then the NAL unit; the first aggregated unit decides.
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            inner = payload[pos + 2] & 0x1F
            if inner in (_NAL_IDR, _NAL_SPS):
                return True
            pos += 2 + size
        return False
    if nal_type == _FU_A and len(payload) >= 2:
        # RFC 6184 §5.8: the FU header's S bit marks the first fragment.
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in (_NAL_IDR, _NAL_SPS)
    return False


def vp8_keyframe_start(payload: bytes) -> bool:
    """True if this RTP payload (RFC 7741) is the first packet of a VP8 key frame."""
    if not payload:
        return False
    first = payload[0]
    start, partition = first & 0x10, first & 0x07
    if not start or partition != 0:
        return False
    pos = 1
    if first & 0x80:  # X: extended control bits (RFC 7741 §4.2)
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: PictureID, 7 or 15 bits
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if len(payload) <= pos:
        return False
    # RFC 6386 §9.1: the frame tag's low bit P is 0 for a key frame.
    return payload[pos] & 0x01 == 0


def keyframe_start(codec_name: str, payload: bytes) -> bool:
    """Whether a subscriber may start decoding at this packet; audio codecs can start anywhere."""
    name = codec_name.upper()
    if name == "H264":
        return h264_keyframe_start(payload)
    if name == "VP8":
        return vp8_keyframe_start(payload)
    return True


@dataclass
class StreamRewriter:
    """Maps a source's sequence numbers and timestamps onto one continuous outgoing stream.

    ``rebase`` is called on the first packet forwarded from a (new) source: the outgoing numbering carries
    on from the last packet sent, and the timestamp advances by the wall-clock gap so jitter estimates at
    the subscriber stay sane. Packets older than the rebase point (late retransmissions) are dropped.
    """

    clock_rate: int
    seq_offset: int = 0
    ts_offset: int = 0
    last_seq: int | None = None
    last_ts: int = 0
    last_time: float = 0.0
    base_seq: int | None = None

    def rebase(self, seq: int, ts: int, now: float) -> None:
        if self.last_seq is None:
            self.seq_offset = 0
            self.ts_offset = 0
        else:
            gap = max(1, int((now - self.last_time) * self.clock_rate))
            self.seq_offset = (self.last_seq + 1 - seq) & 0xFFFF
            self.ts_offset = (self.last_ts + gap - ts) & 0xFFFFFFFF
        self.base_seq = seq

    def map(self, seq: int, ts: int, now: float) -> tuple[int, int] | None:
        """Outgoing (sequence number, timestamp), or None for a packet from before the rebase point."""
        if self.base_seq is None:
            raise RuntimeError("rebase() first")
        if (seq - self.base_seq) & 0xFFFF >= 0x8000:
            return None
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (ts + self.ts_offset) & 0xFFFFFFFF
        if self.last_seq is None or (out_seq - self.last_seq) & 0xFFFF < 0x8000:
            self.last_seq = out_seq
            self.last_ts = out_ts
            self.last_time = now
        return out_seq, out_ts


def serialize(payload_type: int, marker: int, seq: int, ts: int, ssrc: int,
              extensions: list[tuple[int, bytes]], payload: bytes) -> bytes:
    """An RTP packet (RFC 3550 §5.1) with header extensions (RFC 8285), as aiortc's ``RtpPacket.serialize``
    writes it, without building the packet object: this runs once per packet per subscriber."""
    if all(0 < i < 15 and 0 < len(v) <= 16 for i, v in extensions):
        # RFC 8285 §4.2 one-byte form, which is what aiortc writes for these ids and lengths.
        profile, value = 0xBEDE, b"".join(bytes(((i << 4) | (len(v) - 1),)) + v for i, v in extensions)
    else:
        profile, value = pack_header_extensions(extensions)
    if not value:
        return struct.pack("!BBHLL", 0x80, (marker << 7) | payload_type, seq, ts, ssrc) + payload
    value += b"\x00" * (-len(value) % 4)
    first = struct.pack("!BBHLL", 0x90, (marker << 7) | payload_type, seq, ts, ssrc)
    return first + struct.pack("!HH", profile, len(value) >> 2) + value + payload


_FIELDS = struct.Struct("!BHLL")  # RFC 3550 §5.1 bytes 1-11: M and PT, sequence number, timestamp, SSRC


def rewrite_header(template: bytes, payload_type: int, seq: int, ts: int, ssrc: int) -> bytearray:
    """A copy of a serialised RTP packet with this subscriber's payload type, sequence number, timestamp and
    SSRC; the marker bit, header extensions and payload are kept. One packet is serialised once and
    rewritten per subscriber: these are the only fixed-header fields that differ between them."""
    data = bytearray(template)
    _FIELDS.pack_into(data, 1, (template[1] & 0x80) | payload_type, seq, ts, ssrc)
    return data
