"""What the engine tells the room service: close reasons and events (plain values, no callbacks inside)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CloseReason(StrEnum):
    """Why a session, producer or consumer closed (in the manner of LiveKit's ParticipantCloseReason)."""

    CLIENT_REQUEST = "client-request"  # the client sent DELETE
    PEER_GONE = "peer-gone"  # ICE/DTLS failed, or no packets for the reap timeout
    CONNECT_TIMEOUT = "connect-timeout"  # never connected after the answer was sent
    REPLACED = "replaced"  # a new publisher took the slot (token with the replace grant)
    PUBLISHER_GONE = "publisher-gone"  # a consumer's producer closed
    STREAM_ENDED = "stream-ended"  # the Router was closed for good
    ICE_RESTART = "ice-restart"  # the client asked for an ICE restart; a new peer replaces this one
    ENGINE_SHUTDOWN = "engine-shutdown"
    KICKED = "kicked"  # the room took the publisher off stage (a co-host kicked by the host)


class SessionRole(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


@dataclass(frozen=True, slots=True)
class ProducerOpened:
    stream_id: str
    publisher: str
    kind: str
    codec: str


@dataclass(frozen=True, slots=True)
class ProducerClosed:
    stream_id: str
    publisher: str
    kind: str
    reason: CloseReason


@dataclass(frozen=True, slots=True)
class SubscriberPaused:
    """A subscriber's publisher went away; it stays connected and resumes when one comes back."""

    stream_id: str
    publisher: str
    session_id: str


@dataclass(frozen=True, slots=True)
class SubscriberResumed:
    stream_id: str
    publisher: str
    session_id: str


@dataclass(frozen=True, slots=True)
class AudioLevel:
    """Speech level of a publisher, in -dBov (0 loudest, 127 silence: RFC 6464 §3), about 4 times a second."""

    stream_id: str
    publisher: str
    level: int
    voice: bool


@dataclass(frozen=True, slots=True)
class SessionClosed:
    stream_id: str
    session_id: str
    role: SessionRole
    reason: CloseReason


EngineEvent = (
    ProducerOpened | ProducerClosed | SubscriberPaused | SubscriberResumed | AudioLevel | SessionClosed
)
