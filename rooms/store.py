"""The room state interface: one small ``RoomStore``, two backends (in process, Redis).

Shaped after LiveKit's ``localstore``/``redisstore`` pair: the domain (``Room``, ``GiftDesk``, ``Stage``,
``LiveShopping``) is written once against this protocol, and every method is one atomic step on either
backend (one event-loop turn in memory, one Lua script or single command in Redis). A room's state is:

- an event log: a sequence counter and a bounded replay buffer of stamped events (:meth:`append`, :meth:`since`);
- presence: connections per viewer, and the number of distinct viewers;
- boards: sorted sets of ``member -> integer score`` (supporters, present viewers ranked by coins, mutes and
  bans with their end time, moderators, co-host seats, pending invitations, PK scores);
- counters (likes, shop analytics, combo streaks) and fields with compare-and-set (status, host, pins, PK);
- throttles: token buckets (chat rate limit, slow mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

# A board score meaning "no end" (mutes and bans for the rest of the live). The largest integer a Redis
# sorted-set score (an IEEE double) holds exactly.
FOREVER: Final = 2**53 - 1

# Boards and fields the domain uses, named once so both backends and the tests agree.
SUPPORTERS: Final = "supporters"  # user -> coins given in this live
VIEWERS: Final = "viewers"  # present signed-in viewer -> coins given (the "top viewers" list)
MUTES: Final = "mutes"  # user -> muted until (ms)
BANS: Final = "bans"  # user -> may not come back until (ms); kicks are short bans
MODERATORS: Final = "moderators"  # user -> appointed at (ms)
SEATS: Final = "seats"  # co-host on stage -> since (ms)
SEAT_MUTES: Final = "seat_mutes"  # co-host whose microphone the host muted -> since (ms)
STAGE_INVITES: Final = "stage_invites"  # user invited by the host -> invitation expires at (ms)
STAGE_REQUESTS: Final = "stage_requests"  # user asking to come on stage -> request expires at (ms)
PK_SCORES: Final = "pk_scores"  # "<battle>:a" / "<battle>:b" -> score (only ever raised)
TALLIED: Final = "tallied"  # key -> when it was tallied (ms)


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()


class RoomStore(Protocol):
    # The event log ----------------------------------------------------------------------------------------
    async def append(self, room: str, draft: str) -> str:
        """Assign the next sequence number, stamp the draft with it (``events.stamp``), push it on the replay
        buffer (dropping the oldest beyond the buffer size), and return the stamped event: one atomic step."""
        ...

    async def append_once(self, room: str, draft: str, *, board: str, member: str,
                          fields: Mapping[str, str] | None = None) -> str | None:
        """Append the draft only if ``member`` is not on ``board`` yet, as one atomic step with claiming it:
        add ``member`` (scored with the event's sequence number), set ``fields``, number and push the event, and
        return it; ``None`` (nothing changed) when it was claimed before. Of racing callers exactly one appends,
        and a caller that finds the claim taken knows the event is already in the log (a once-only
        announcement: Redis ``ZADD NX`` in the same script as the append)."""
        ...

    async def since(self, room: str, seq: int) -> list[str] | None:
        """The stamped events after ``seq``, oldest first; ``None`` when some of them are no longer in the
        buffer, or ``seq`` is ahead of the log (a client from an older life of the room)."""
        ...

    async def last_seq(self, room: str) -> int: ...

    async def recent(self, room: str, count: int) -> list[str]:
        """The newest ``count`` stamped events still in the buffer, oldest first."""
        ...

    # Presence ---------------------------------------------------------------------------------------------
    async def enter(self, room: str, viewer: str, *, ranked: bool, node: str = "") -> tuple[bool, int]:
        """One more connection for ``viewer``, held by ``node``. Returns (was this the viewer's first, distinct
        viewers now). A ``ranked`` (signed-in) viewer also goes on the VIEWERS board with their SUPPORTERS
        score."""
        ...

    async def exit(self, room: str, viewer: str, *, node: str = "", every_connection: bool = False
                   ) -> tuple[bool, int]:
        """One connection of ``viewer`` held by ``node`` fewer (nothing if that node holds none, e.g. after a
        reap); with ``every_connection``, all of theirs on every node (a kick). Returns (was the viewer
        present and is now gone, distinct viewers now)."""
        ...

    async def presence_nodes(self, room: str) -> set[str]:
        """The nodes holding connections in the room."""
        ...

    async def reap(self, room: str, node: str) -> tuple[list[str], int]:
        """Forget every connection a (dead) node held in the room. Returns (viewers now gone, distinct
        viewers now); racing reapers of the same node get each viewer once in total."""
        ...

    async def heartbeat(self, node: str, ttl_s: float) -> None:
        """``node`` is alive for ``ttl_s`` more seconds."""
        ...

    async def alive(self, nodes: Sequence[str]) -> set[str]: ...

    async def viewers(self, room: str) -> int: ...

    async def support(self, room: str, user: str, coins: int) -> int:
        """Add ``coins`` to the user's SUPPORTERS score (and their VIEWERS score if present); the new total."""
        ...

    # Boards -----------------------------------------------------------------------------------------------
    async def add(self, room: str, board: str, member: str, amount: int) -> int:
        """Add to a member's score (created at 0); the new score."""
        ...

    async def put_score(
        self, room: str, board: str, member: str, score: int, *, limit: int | None = None, raise_only: bool = False
    ) -> bool:
        """Set a member's score. ``limit``: refuse (False) to add a new member to a board that already has
        that many. ``raise_only``: never lower an existing score (last-writer races between nodes)."""
        ...

    async def remove(self, room: str, board: str, member: str) -> bool:
        """Remove a member; True if it was there (exactly one of several racing removers gets True)."""
        ...

    async def claim(self, room: str, board: str, member: str, score: int) -> bool:
        """Add ``member`` with ``score`` unless it is on the board; True if this call added it (exactly one
        of several racing claimers gets True)."""
        ...

    async def trim(self, room: str, board: str, below: int) -> int:
        """Remove the members scored below ``below``; how many were removed."""
        ...

    async def score(self, room: str, board: str, member: str) -> int | None: ...

    async def top(self, room: str, board: str, count: int | None = None) -> list[tuple[str, int]]:
        """Members by score, highest first, ties by member descending (Redis ZREVRANGE order); all of them when
        ``count`` is None."""
        ...

    async def size(self, room: str, board: str) -> int: ...

    async def tally(
        self, room: str, *, gate: str, key: str, now_ms: int, adds: Sequence[tuple[str, str, int]]
    ) -> list[int] | None:
        """Count something once, inside a time window: if field ``gate`` holds ``"<start>:<end>"`` (ms) with
        start <= ``now_ms`` < end, and ``key`` was not tallied before (board TALLIED), apply every (board,
        member, amount) and return the new scores; otherwise change nothing and return None. Closing the
        gate (any other value) stops every later tally: what a PK battle's end does before reading scores."""
        ...

    # Counters and fields ----------------------------------------------------------------------------------
    async def incr(self, room: str, counter: str, by: int = 1) -> int: ...

    async def counters(self, room: str) -> dict[str, int]: ...

    async def get(self, room: str, field: str) -> str | None: ...

    async def put(self, room: str, field: str, value: str | None, *, expect: str | _Any | None = ANY) -> bool:
        """Set (``value=None``: delete) a field. With ``expect``, only if the field currently holds that value
        (``None``: only if absent): compare-and-set. Returns whether it was written."""
        ...

    async def fields(self, room: str) -> dict[str, str]: ...

    async def read(self, room: str, scores: Sequence[tuple[str, str]] = ()) -> tuple[dict[str, str], list[int | None]]:
        """The room's fields and the scores of some (board, member) pairs, read together in one step (one
        round trip to Redis): what an action checks before it acts."""
        ...

    # Throttles --------------------------------------------------------------------------------------------
    async def throttle(self, room: str, key: str, *, per_s: float, burst: int, now_ms: int) -> float:
        """Take one token from the bucket ``key`` (``burst`` tokens, refilled at ``per_s``); 0.0 if taken,
        else the seconds until one will be there (nothing is taken)."""
        ...

    # Lifetime ---------------------------------------------------------------------------------------------
    async def drop(self, room: str) -> None:
        """Forget everything about a room."""
        ...

    async def expire(self, room: str, after_s: float) -> None:
        """Forget everything about a room ``after_s`` from now (an ended live's state, kept a while for the
        clients that still ask for a snapshot)."""
        ...

    async def close(self) -> None: ...
