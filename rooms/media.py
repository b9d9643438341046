"""``MediaControl``: what the room domain asks of the media engine (implemented on the engine's side with
its media tokens, routers and recorder). Nobody publishes without a token for that stream and slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Ingest:
    """What the host's app needs to go live: where to publish (WHIP, RFC 9725) and with which token."""

    whip_url: str
    publish_token: str


@dataclass(frozen=True, slots=True)
class Playback:
    whep_url: str
    hls_url: str
    ll_hls_url: str


class MediaControl(Protocol):
    async def host_ingest(self, room_id: str, host_id: str) -> Ingest:
        """The WHIP endpoint and a publish token for the host's slot."""
        ...

    async def playback(self, room_id: str) -> Playback: ...

    async def end_stream(self, room_id: str) -> None:
        """Close ingest and every session of the live, and finalise its recording."""
        ...

    async def guest_token(self, room_id: str, user_id: str) -> str:
        """A publish token for a co-host's own slot in the live."""
        ...

    async def close_guest(self, room_id: str, user_id: str) -> None:
        """Close the guest's producers (and their consumers) now."""
        ...

    async def mute_guest(self, room_id: str, user_id: str, muted: bool) -> None:
        """Stop (or resume) forwarding the guest's audio."""
        ...
