"""Who is acting in a room, as the edge authenticated them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rooms.errors import Invalid


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


_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def require_id(value: str, what: str) -> str:
    """Identifiers from clients (users, rooms, messages, gifts, products) are short and plain: anything
    else is refused before it reaches the store."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise Invalid(f"{what} is 1 to 64 letters, digits or _.:-", slug="bad-id", field=what)
    return value
