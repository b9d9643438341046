"""The engine's one error root. Each error names the HTTP status a protocol edge should answer with,
so signaling maps errors without a table of its own (the engine itself never speaks HTTP)."""

from __future__ import annotations

from typing import ClassVar


class EngineError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "media-engine-error"


class BadOffer(EngineError):
    """The SDP offer cannot be parsed or has nothing to negotiate."""

    status, slug = 400, "bad-sdp"


class UnsupportedMedia(EngineError):
    """The offer has media, but none in a codec the engine can forward (H.264, VP8, Opus)."""

    status, slug = 406, "unsupported-media"


class StreamNotLive(EngineError):
    """Nothing is publishing to this stream (or to the publisher slot a viewer asked for)."""

    status, slug = 404, "stream-not-live"


class PublisherExists(EngineError):
    """Another session already publishes to this slot and the caller may not replace it."""

    status, slug = 409, "publisher-exists"


class StreamEnded(EngineError):
    """The stream was ended; nothing can publish to it again."""

    status, slug = 410, "stream-ended"


class SessionNotFound(EngineError):
    """No such session, or it has already closed."""

    status, slug = 404, "session-not-found"

