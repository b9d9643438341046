"""Who is acting in a room, as the edge authenticated them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str | None  # None: an anonymous viewer (may watch and read, nothing more)
    connection: str = ""  # the edge's connection id (a Socket.IO sid); names anonymous viewers in presence

    @property
    def viewer(self) -> str:
        """The presence key: the user, or this one anonymous connection."""
        return self.user_id if self.user_id is not None else f"anon:{self.connection}"

    @classmethod
    def anonymous(cls, connection: str) -> Actor:
        return cls(None, connection)


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    VIEWER = "viewer"
    ANONYMOUS = "anonymous"
