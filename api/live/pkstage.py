"""``PkStage``: a PK battle on each live's program (split screen with the score bar), driven by the room
events the battle already produces (``pk.started``, ``pk.score``, ``pk.ended``); part of the rooms' event
sink, so the picture follows exactly what the rooms announce.

Each live draws itself as side "a" of its own board (its host on the left): the opponent's events are
turned around. A live's program exists on the node its host went live on, while the referee that appends
a battle's events may run on any node: the events reach every node's ``PkStage`` as media commands
(``api.live.commands.PkPicture``), and a node without that live's media does nothing. The opponent's picture
comes from this node's engine: when the two lives' hosts publish to different nodes, each program shows the
opponent's placeholder (name, no video), since media is not relayed between nodes.
"""

from __future__ import annotations

import logging

from api.live.media import Names
from engine.errors import EngineError
from engine.live import LiveStudio
from rooms.events import PkEnded, PkScore, PkStarted, PkView, RoomEvent

log = logging.getLogger(__name__)
_FLIP = {"a": "b", "b": "a", "draw": "draw"}


class PkStage:
    def __init__(self, studio: LiveStudio, names: Names) -> None:
        self._studio = studio
        self._names = names
        self._flipped: dict[tuple[str, str], bool] = {}  # (room, battle) -> this room is side b

    async def apply(self, event: RoomEvent) -> None:
        live = self._studio.get(event.room)
        if live is None:
            return
        data = event.data
        try:
            if isinstance(data, PkStarted):
                mine, theirs = self._sides(event.room, data.battle)
                names = (await self._names(mine[0]), await self._names(theirs[0]))
                await live.pk(theirs[0], theirs[1], names, data.battle.ends_at)
            elif isinstance(data, PkScore):
                flipped = self._flipped.get((event.room, data.battle_id))
                if flipped is not None:
                    live.scores(*((data.score_b, data.score_a) if flipped else (data.score_a, data.score_b)))
            elif isinstance(data, PkEnded):
                flipped = self._flipped.pop((event.room, data.battle.battle_id), None)
                if flipped is not None:
                    winner = data.battle.winner
                    live.pk_end(_FLIP[winner] if flipped and winner else winner)
                    opponent = data.battle.a.host_id if flipped else data.battle.b.host_id
                    await live.leave(opponent)
        except EngineError:  # the stage cannot be split now, say; the battle goes on without the picture
            log.warning("PK picture of live %s", event.room, exc_info=True)

    def _sides(self, room: str, battle: PkView) -> tuple[tuple[str, str], tuple[str, str]]:
        """((my host, my room), (their host, their room)) for ``room``."""
        flipped = battle.b.room_id == room
        self._flipped[(room, battle.battle_id)] = flipped
        a, b = (battle.a.host_id, battle.a.room_id), (battle.b.host_id, battle.b.room_id)
        return (b, a) if flipped else (a, b)
