"""The compositor's one error root. Like the engine's errors, each names the HTTP status a protocol edge
should answer with (the compositor itself never speaks HTTP)."""

from __future__ import annotations

from typing import ClassVar

from engine.errors import EngineError


class CompositorError(EngineError):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "compositor-error"


class LayoutError(CompositorError):
    """The people on stage do not fit the layout asked for (a PK battle of three, a grid of ten)."""

    status, slug = 409, "layout-not-possible"


class ParticipantError(CompositorError):
    """Joining someone already on stage, or touching someone who is not."""

    status, slug = 409, "participant-conflict"


class CompositorClosed(CompositorError):
    """The compositor was closed; a new one starts when the live has guests again."""

    status, slug = 410, "compositor-closed"


class DecodeError(CompositorError):
    """A participant's media cannot be decoded (unknown codec)."""

    status, slug = 415, "undecodable-media"
