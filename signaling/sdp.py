"""SDP helpers for WHIP and WHEP: pure functions over SDP text (RFC 8866), no I/O.

* :func:`check_offer` rejects what the engine cannot use before any peer connection exists.
* :func:`parse_sdpfrag` reads a trickle-ICE fragment (RFC 8840 §9, media type
  ``application/trickle-ice-sdpfrag``) sent with PATCH (RFC 9725 §4.3.1).
* :func:`ice_server_links` writes the ``Link: rel="ice-server"`` headers of RFC 9725 §4.6.
* :func:`announce_address` adds host candidates with a public address for a server behind 1:1 NAT.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

FORWARDABLE = {"audio": {"opus"}, "video": {"h264", "vp8"}}
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([A-Za-z0-9_.-]+)/(\d+)")


class SdpError(ValueError):
    """The SDP is not usable; ``unsupported`` marks well-formed media in codecs we cannot forward."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


@dataclass
class MediaSection:
    kind: str
    port: int
    codecs: list[str] = field(default_factory=list)  # lower-case encoding names
    direction: str = "sendrecv"


@dataclass
class Offer:
    media: list[MediaSection]

    @property
    def kinds(self) -> list[str]:
        return [m.kind for m in self.media]


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def parse_offer(text: str) -> Offer:
    """The media sections of an SDP offer; SdpError if it is not SDP at all."""
    lines = _lines(text)
    if not lines or lines[0] != "v=0":
        raise SdpError("the body is not an SDP session description (it must start with v=0)")
    if not any(line.startswith("o=") for line in lines) or not any(line.startswith("s=") for line in lines):
        raise SdpError("the SDP has no o= or s= line (RFC 8866 §5)")
    media: list[MediaSection] = []
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"malformed SDP line: {line[:60]!r}")
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                raise SdpError(f"malformed media line: {line[:60]!r}")
            media.append(MediaSection(parts[0], int(parts[1].split("/")[0])))
        elif media:
            if match := _RTPMAP.match(line):
                media[-1].codecs.append(match.group(2).lower())
            elif line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
                media[-1].direction = line[2:]
    return Offer(media)


def check_offer(text: str, *, publish: bool) -> Offer:
    """The offer if the engine can use it: audio/video sections with at least one forwardable codec."""
    offer = parse_offer(text)
    av = [m for m in offer.media if m.kind in ("audio", "video") and m.port != 0]
    if not av:
        raise SdpError("the offer has no audio or video section")
    wanted = "sendonly" if publish else "recvonly"
    if all(m.direction not in (wanted, "sendrecv") for m in av):
        raise SdpError(f"a {'WHIP' if publish else 'WHEP'} offer must have {wanted} media")
    usable = [m for m in av if FORWARDABLE[m.kind] & set(m.codecs)]
    if not usable:
        offered = sorted({c for m in av for c in m.codecs if c not in ("rtx", "red", "ulpfec", "flexfec-03")})
        raise SdpError(
            f"none of the offered codecs can be forwarded ({', '.join(offered) or 'none'}); "
            "use H.264, VP8 or Opus", unsupported=True,
        )
    return offer


@dataclass
class TrickleFragment:
    ufrag: str | None
    pwd: str | None
    candidates: list[tuple[str | None, int | None, str]]  # (mid, m-line index, "candidate:...")
    end_of_candidates: bool


def parse_sdpfrag(text: str) -> TrickleFragment:
    """A trickle-ICE SDP fragment (RFC 8840 §9): ice-ufrag/pwd, then per m= section a=mid and candidates."""
    ufrag = pwd = None
    candidates: list[tuple[str | None, int | None, str]] = []
    end = False
    index = -1
    mid: str | None = None
    for line in _lines(text):
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"malformed SDP fragment line: {line[:60]!r}")
        if line.startswith("m="):
            index += 1
            mid = None
        elif line.startswith("a=ice-ufrag:"):
            ufrag = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            pwd = line.split(":", 1)[1]
        elif line.startswith("a=mid:"):
            mid = line.split(":", 1)[1]
        elif line.startswith("a=candidate:"):
            value = line[2:]
            if len(value.split()) < 8:
                raise SdpError(f"malformed candidate: {line[:80]!r}")
            candidates.append((mid, max(index, 0) if mid is None else None, value))
        elif line == "a=end-of-candidates":
            end = True
    return TrickleFragment(ufrag, pwd, candidates, end)


def ice_credentials(sdp: str) -> tuple[str | None, str | None]:
    ufrag = pwd = None
    for line in _lines(sdp):
        if line.startswith("a=ice-ufrag:") and ufrag is None:
            ufrag = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:") and pwd is None:
            pwd = line.split(":", 1)[1]
    return ufrag, pwd


@dataclass(frozen=True)
class IceServer:
    url: str  # stun:host:port or turn:host:port?transport=udp (RFC 7064, RFC 7065)
    username: str | None = None
    credential: str | None = None


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ice_server_links(servers: list[IceServer]) -> list[str]:
    """``Link`` header values (RFC 8288) for each STUN/TURN server, as RFC 9725 §4.6 writes them."""
    links = []
    for server in servers:
        link = f'<{server.url}>; rel="ice-server"'
        if server.username is not None and server.credential is not None:
            link += f'; username={_quoted(server.username)}; credential={_quoted(server.credential)}'
            link += '; credential-type="password"'
        links.append(link)
    return links


def announce_address(sdp: str, public_ip: str) -> str:
    """Copy each IPv4 host candidate with ``public_ip`` in place of the address (a 1:1 NAT mapping keeps
    ports), so clients outside the NAT can reach the server; the private candidates stay for local ones."""
    ipaddress.ip_address(public_ip)  # ValueError on a bad address: the config layer reports it
    out: list[str] = []
    eol = "\r\n" if "\r\n" in sdp else "\n"
    for line in sdp.split(eol):
        out.append(line)
        if line.startswith("a=candidate:") and " typ host" in line:
            parts = line.split()
            if len(parts) > 5 and ":" not in parts[4] and parts[4] != public_ip:
                parts[0] = parts[0] + "9"  # a distinct foundation (RFC 8445 §5.1.1.3)
                parts[4] = public_ip
                out.append(" ".join(parts))
    return eol.join(out)
