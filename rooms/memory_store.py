"""The in-process ``RoomStore``: plain dicts. Every method runs without awaiting, so it is atomic on the loop."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rooms.events import stamp
from rooms.store import ANY, SUPPORTERS, TALLIED, VIEWERS, _Any


@dataclass
class _RoomState:
    seq: int = 0
    log: deque[str] = field(default_factory=deque)
    presence: dict[str, int] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)  # (node, viewer) -> connections
    boards: dict[str, dict[str, int]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, tuple[float, int]] = field(default_factory=dict)


class MemoryRoomStore:
    def __init__(self, *, buffer_size: int = 512, monotonic: Callable[[], float] = time.monotonic) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be positive")
        self.buffer_size = buffer_size
        self._rooms: dict[str, _RoomState] = {}
        self._monotonic = monotonic
        self._deadlines: dict[str, float] = {}
        self._heartbeats: dict[str, float] = {}

    def _room(self, room: str) -> _RoomState:
        deadline = self._deadlines.get(room)
        if deadline is not None and deadline <= self._monotonic():
            del self._deadlines[room]
            self._rooms.pop(room, None)
        state = self._rooms.get(room)
        if state is None:
            state = self._rooms[room] = _RoomState(log=deque(maxlen=self.buffer_size))
        return state

    def _board(self, room: str, board: str) -> dict[str, int]:
        return self._room(room).boards.setdefault(board, {})

    def _append(self, state: _RoomState, draft: str) -> str:
        state.seq += 1
        event = stamp(draft, state.seq)
        state.log.append(event)
        return event

    async def append(self, room: str, draft: str) -> str:
        return self._append(self._room(room), draft)

    async def append_once(self, room: str, draft: str, *, board: str, member: str,
                          fields: Mapping[str, str] | None = None) -> str | None:
        state = self._room(room)
        claimed = state.boards.setdefault(board, {})
        if member in claimed:
            return None
        event = self._append(state, draft)
        claimed[member] = state.seq
        state.fields.update(fields or {})
        return event

    async def since(self, room: str, seq: int) -> list[str] | None:
        state = self._room(room)
        first = state.seq - len(state.log) + 1
        if seq > state.seq or seq < first - 1:
            return None
        return list(state.log)[seq - first + 1 :]

    async def last_seq(self, room: str) -> int:
        return self._room(room).seq

    async def recent(self, room: str, count: int) -> list[str]:
        log = self._room(room).log
        return list(log)[-count:] if count > 0 else []

    async def enter(self, room: str, viewer: str, *, ranked: bool, node: str = "") -> tuple[bool, int]:
        state = self._room(room)
        state.held[node, viewer] = state.held.get((node, viewer), 0) + 1
        connections = state.presence.get(viewer, 0) + 1
        state.presence[viewer] = connections
        if ranked:
            supporters = self._board(room, SUPPORTERS)
            self._board(room, VIEWERS)[viewer] = supporters.get(viewer, 0)
        return connections == 1, len(state.presence)

    def _release(self, room: str, viewer: str, connections: int) -> bool:
        """Take ``connections`` off the viewer's total; True if that was their last."""
        state = self._room(room)
        left = state.presence.get(viewer, 0) - connections
        if left > 0:
            state.presence[viewer] = left
            return False
        gone = viewer in state.presence
        state.presence.pop(viewer, None)
        self._board(room, VIEWERS).pop(viewer, None)
        return gone

    async def exit(self, room: str, viewer: str, *, node: str = "", every_connection: bool = False
                   ) -> tuple[bool, int]:
        state = self._room(room)
        if every_connection:
            for key in [k for k in state.held if k[1] == viewer]:
                del state.held[key]
            return self._release(room, viewer, state.presence.get(viewer, 0)), len(state.presence)
        mine = state.held.get((node, viewer), 0)
        if mine == 0:
            return False, len(state.presence)
        if mine == 1:
            del state.held[node, viewer]
        else:
            state.held[node, viewer] = mine - 1
        return self._release(room, viewer, 1), len(state.presence)

    async def presence_nodes(self, room: str) -> set[str]:
        return {node for node, _ in self._room(room).held}

    async def reap(self, room: str, node: str) -> tuple[list[str], int]:
        state = self._room(room)
        gone = []
        for key in sorted(k for k in state.held if k[0] == node):
            if self._release(room, key[1], state.held.pop(key)):
                gone.append(key[1])
        return gone, len(state.presence)

    async def heartbeat(self, node: str, ttl_s: float) -> None:
        self._heartbeats[node] = self._monotonic() + ttl_s

    async def alive(self, nodes: Sequence[str]) -> set[str]:
        now = self._monotonic()
        return {node for node in nodes if self._heartbeats.get(node, 0) > now}

    async def viewers(self, room: str) -> int:
        return len(self._room(room).presence)

    async def support(self, room: str, user: str, coins: int) -> int:
        supporters = self._board(room, SUPPORTERS)
        total = supporters.get(user, 0) + coins
        supporters[user] = total
        viewers = self._board(room, VIEWERS)
        if user in viewers:
            viewers[user] = total
        return total

    async def add(self, room: str, board: str, member: str, amount: int) -> int:
        scores = self._board(room, board)
        scores[member] = scores.get(member, 0) + amount
        return scores[member]

    async def put_score(
        self, room: str, board: str, member: str, score: int, *, limit: int | None = None, raise_only: bool = False
    ) -> bool:
        scores = self._board(room, board)
        if member not in scores and limit is not None and len(scores) >= limit:
            return False
        if raise_only and member in scores and scores[member] >= score:
            return False
        scores[member] = score
        return True

    async def remove(self, room: str, board: str, member: str) -> bool:
        return self._board(room, board).pop(member, None) is not None

    async def claim(self, room: str, board: str, member: str, score: int) -> bool:
        scores = self._board(room, board)
        if member in scores:
            return False
        scores[member] = score
        return True

    async def trim(self, room: str, board: str, below: int) -> int:
        scores = self._board(room, board)
        old = [member for member, score in scores.items() if score < below]
        for member in old:
            del scores[member]
        return len(old)

    async def score(self, room: str, board: str, member: str) -> int | None:
        return self._board(room, board).get(member)

    async def top(self, room: str, board: str, count: int | None = None) -> list[tuple[str, int]]:
        # Redis's order: by score, ties by member, both descending (ZREVRANGE).
        ranked = sorted(self._board(room, board).items(), key=lambda item: (item[1], item[0]), reverse=True)
        return ranked if count is None else ranked[:count]

    async def size(self, room: str, board: str) -> int:
        return len(self._board(room, board))

    async def tally(
        self, room: str, *, gate: str, key: str, now_ms: int, adds: Sequence[tuple[str, str, int]]
    ) -> list[int] | None:
        window = self._room(room).fields.get(gate, "")
        start, _, end = window.partition(":")
        if not (start.isdigit() and end.isdigit() and int(start) <= now_ms < int(end)):
            return None
        tallied = self._board(room, TALLIED)
        if key in tallied:
            return None
        tallied[key] = now_ms
        return [await self.add(room, board, member, amount) for board, member, amount in adds]

    async def incr(self, room: str, counter: str, by: int = 1) -> int:
        counters = self._room(room).counters
        counters[counter] = counters.get(counter, 0) + by
        return counters[counter]

    async def counters(self, room: str) -> dict[str, int]:
        return dict(self._room(room).counters)

    async def get(self, room: str, field: str) -> str | None:
        return self._room(room).fields.get(field)

    async def put(self, room: str, field: str, value: str | None, *, expect: str | _Any | None = ANY) -> bool:
        fields = self._room(room).fields
        if expect is not ANY and fields.get(field) != expect:
            return False
        if value is None:
            fields.pop(field, None)
        else:
            fields[field] = value
        return True

    async def fields(self, room: str) -> dict[str, str]:
        return dict(self._room(room).fields)

    async def read(self, room: str, scores: Sequence[tuple[str, str]] = ()) -> tuple[dict[str, str], list[int | None]]:
        return dict(self._room(room).fields), [self._board(room, board).get(member) for board, member in scores]

    async def throttle(self, room: str, key: str, *, per_s: float, burst: int, now_ms: int) -> float:
        if per_s <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and burst")
        buckets = self._room(room).buckets
        tokens, last = buckets.get(key, (float(burst), now_ms))
        tokens = min(float(burst), tokens + max(0, now_ms - last) * per_s / 1000)
        if tokens >= 1:
            buckets[key] = (tokens - 1, now_ms)
            return 0.0
        buckets[key] = (tokens, now_ms)
        return (1 - tokens) / per_s

    async def drop(self, room: str) -> None:
        self._rooms.pop(room, None)
        self._deadlines.pop(room, None)

    async def expire(self, room: str, after_s: float) -> None:
        now = self._monotonic()
        self._deadlines[room] = now + after_s
        for other, deadline in list(self._deadlines.items()):  # rooms nobody touches again
            if deadline <= now:
                self._room(other)

    async def close(self) -> None:
        self._rooms.clear()
        self._deadlines.clear()
        self._heartbeats.clear()
