"""``PkBattles``: two lives battle for gifts. Invite (30 s to answer) → accept or reject → countdown → active
(300 s by default) → ended, with the score, the winner (or a draw) and each side's MVP.

The database row is the authority for state and time; every transition is a compare-and-set UPDATE, so it
happens once however many nodes try. The live score is kept in the RoomStore under the battle's own key
(``pk:<battle>``): a gift counts, once per transfer, when it goes to that side's host while the battle's
window ``[starts_at, ends_at)`` is open (:meth:`RoomStore.tally`, one atomic step). Ending closes the window
first, so no gift counts after the scores are read, then claims the end in the database and stores the
result. The referee also checkpoints live scores into the row, and puts them back into a store that lost
them (an in-process store after a restart). A gift is thus one store step, never a database write: the
database sees a battle a handful of times, not once per gift.

Each state's events are an outbox: ``announce_at`` is set with the state and cleared once both rooms have
the events. Announcing a phase tells every phase on the way to it that a room has not had yet, oldest first,
each with :meth:`RoomStore.append_once` (claim "<battle>:<phase>" only if absent and append, one atomic
step): so whichever node, referee or retry sweep announces, and in whatever interleaving, each room's log has
invited → countdown → active → ended (or invited → cancelled) once each, in order. A caller announces the
phase its own transition produced, never a re-read state that another node may already have moved on. The
timed transitions are driven by :class:`~rooms.referee.PkReferee`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rooms.actor import Actor, Role, require_id
from rooms.clock import Clock, to_datetime, to_ms
from rooms.directory import RoomDirectory
from rooms.errors import Conflict, Invalid, NotAllowed, NotFound
from rooms.events import (
    CohostDeclined,
    Payload,
    PkCancelled,
    PkCountdown,
    PkEnded,
    PkInvited,
    PkScore,
    PkSide,
    PkStarted,
    PkView,
    RankedUser,
)
from rooms.room import PK
from rooms.store import PK_SCORES, SEATS, STAGE_INVITES, STAGE_REQUESTS
from store.database import Database
from store.ids import new_id
from store.schema.rooms import pk_battles

log = logging.getLogger(__name__)

PK_LOCK = "pk_lock"  # room field: the battle this room is in (invited, countdown or active)
WINDOW, CLOSED = "window", "closed"  # battle field: "<starts_at>:<ends_at>" while gifts count, then "closed"
SCORE = "score"  # battle board: "a" / "b" -> coins
SCOREBOARD_RETAIN_S = 600  # an ended battle's scoreboard is kept this long (late gifts are refused by it)
ANNOUNCED = "pk_announced"  # room board: "<battle>:<state>" -> seq of its event (claimed with the append)
OPEN_STATES = ("invited", "countdown", "active")
FINAL_STATES = ("rejected", "expired", "ended")
Period = Literal["day", "week", "all"]
# The phases a battle went through to reach each state, in the order the rooms are told them.
PHASES: dict[str, tuple[str, ...]] = {
    "invited": ("invited",),
    "countdown": ("invited", "countdown"),
    "active": ("invited", "countdown", "active"),
    "ended": ("invited", "countdown", "active", "ended"),
    "rejected": ("invited", "rejected"),
    "expired": ("invited", "expired"),
}


@dataclass(frozen=True, slots=True)
class PkConfig:
    invite_ttl_s: int = 30
    countdown_s: int = 5
    default_duration_s: int = 300
    min_duration_s: int = 30
    max_duration_s: int = 3600


@dataclass(frozen=True, slots=True)
class Ranking:
    host_id: str
    wins: int
    draws: int
    losses: int
    points: int  # coins scored in those battles


def _ns(battle_id: str) -> str:
    """The battle's own namespace in the RoomStore (its live scoreboard)."""
    return f"pk:{battle_id}"


def _mvp(board: str) -> str:
    return f"mvp:{board}"


class PkBattles:
    def __init__(self, db: Database, directory: RoomDirectory, config: PkConfig | None = None) -> None:
        self._db = db
        self._directory = directory
        self.config = config or PkConfig()
        self._listeners: list[Callable[[], None]] = []

    def on_schedule(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever this node schedules a timed transition (the referee's nudge)."""
        self._listeners.append(listener)

    def _scheduled(self) -> None:
        for listener in self._listeners:
            listener()

    @property
    def clock(self) -> Clock:
        return self._directory.clock

    def _now(self) -> int:
        return self._directory.clock.now_ms()

    # Reading ----------------------------------------------------------------------------------------------

    async def get(self, battle_id: str) -> PkView:
        require_id(battle_id, "battle_id")
        return await self._view(await self._row(battle_id))

    async def _row(self, battle_id: str) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(pk_battles).where(pk_battles.c.id == battle_id))).one_or_none()
        if row is None:
            raise NotFound(f"no PK battle {battle_id!r}", slug="unknown-battle")
        return row

    async def _live(self, battle_id: str) -> tuple[dict[str, int], dict[str, tuple[str, int] | None]]:
        """The scoreboard in the store: scores by side, and each side's top supporter."""
        store = self._directory.store
        ns = _ns(battle_id)
        scores = dict(await store.top(ns, SCORE))
        mvps: dict[str, tuple[str, int] | None] = {}
        for side in ("a", "b"):
            top = await store.top(ns, _mvp(side), 1)
            mvps[side] = top[0] if top else None
        return scores, mvps

    async def _view(self, row: Any) -> PkView:
        sides: dict[str, PkSide] = {}
        live = row.state in ("countdown", "active")
        scores, mvps = await self._live(row.id) if live else ({}, {})
        for side in ("a", "b"):
            score = int(getattr(row, f"score_{side}"))
            mvp_id, mvp_coins = getattr(row, f"mvp_{side}"), getattr(row, f"mvp_{side}_coins")
            mvp = RankedUser(user_id=mvp_id, score=int(mvp_coins)) if mvp_id is not None else None
            top = mvps.get(side)
            if top is not None and (mvp is None or top[1] >= mvp.score):
                mvp = RankedUser(user_id=top[0], score=top[1])
            sides[side] = PkSide(room_id=getattr(row, f"room_{side}"), host_id=getattr(row, f"host_{side}"),
                                 score=max(score, scores.get(side, 0)), mvp=mvp)
        return PkView(
            battle_id=row.id, state=row.state, duration_s=row.duration_s, a=sides["a"], b=sides["b"],
            expires_at=to_ms(row.expires_at),
            starts_at=to_ms(row.starts_at) if row.starts_at else None,
            ends_at=to_ms(row.ends_at) if row.ends_at else None,
            winner=row.winner,
        )

    # Invite, accept, reject -------------------------------------------------------------------------------

    async def invite(self, actor: Actor, room_id: str, opponent_room_id: str, duration_s: int | None = None) -> PkView:
        """The host of ``room_id`` invites the host of ``opponent_room_id``; they have ``invite_ttl_s``."""
        duration = self.config.default_duration_s if duration_s is None else duration_s
        if not self.config.min_duration_s <= duration <= self.config.max_duration_s:
            raise Invalid(f"a battle lasts {self.config.min_duration_s} to {self.config.max_duration_s} s",
                          slug="bad-duration")
        if room_id == opponent_room_id:
            raise Invalid("a live cannot battle itself", slug="pk-self")
        mine = await self._directory.room(room_id).require(actor, Role.HOST)
        theirs = await self._directory.room(opponent_room_id).standing(None, live=True)
        if theirs.host == mine.host:
            raise Invalid("a host cannot battle themselves", slug="pk-self")
        battle_id = new_id()
        store = self._directory.store
        if not await store.put(room_id, PK_LOCK, battle_id, expect=None):
            raise Conflict("this live is already in a PK battle", slug="pk-busy")
        if not await store.put(opponent_room_id, PK_LOCK, battle_id, expect=None):
            await store.put(room_id, PK_LOCK, None, expect=battle_id)
            raise Conflict("the other live is already in a PK battle", slug="pk-busy")
        try:
            # The locks first, then the seats: a guest seated meanwhile is seen here, or sees our lock.
            await self._check_stages(room_id, opponent_room_id)
        except Conflict:
            await store.put(room_id, PK_LOCK, None, expect=battle_id)
            await store.put(opponent_room_id, PK_LOCK, None, expect=battle_id)
            raise
        now = self._now()

        async def insert(conn: AsyncConnection) -> None:
            rooms = (room_id, opponent_room_id)
            busy = await conn.scalar(sa.select(sa.func.count()).select_from(pk_battles).where(
                pk_battles.c.state.in_(OPEN_STATES),
                sa.or_(pk_battles.c.room_a.in_(rooms), pk_battles.c.room_b.in_(rooms))))
            if busy:
                raise Conflict("one of the lives is already in a PK battle", slug="pk-busy")
            expires = to_datetime(now + self.config.invite_ttl_s * 1000)
            await conn.execute(pk_battles.insert().values(
                id=battle_id, room_a=room_id, host_a=mine.host, room_b=opponent_room_id, host_b=theirs.host,
                state="invited", duration_s=duration, created_at=to_datetime(now), expires_at=expires,
                due_at=expires, announce_at=to_datetime(now), score_a=0, score_b=0,
            ))

        try:
            await self._db.run(insert)
        except BaseException:
            await store.put(room_id, PK_LOCK, None, expect=battle_id)
            await store.put(opponent_room_id, PK_LOCK, None, expect=battle_id)
            raise
        self._scheduled()
        return await self.announce(battle_id, "invited")

    async def _check_stages(self, *room_ids: str) -> None:
        """A battle is host against host: no live in it may have guests on stage (see ``rooms.stage``)."""
        for room_id in room_ids:
            if await self._directory.store.size(room_id, SEATS):
                raise Conflict("a PK battle needs both lives without guests on stage: end the multi-guest first",
                               slug="pk-stage-busy", room_id=room_id)

    async def _host_b(self, actor: Actor, battle_id: str) -> Any:
        require_id(battle_id, "battle_id")
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(pk_battles).where(pk_battles.c.id == battle_id))).one_or_none()
        if row is None:
            raise NotFound(f"no PK battle {battle_id!r}", slug="unknown-battle")
        if actor.user_id != row.host_b:
            raise NotAllowed("only the invited host answers a PK invitation", slug="not-invitee")
        return row

    async def accept(self, actor: Actor, battle_id: str) -> PkView:
        row = await self._host_b(actor, battle_id)
        if row.state == "invited":  # (otherwise the transition below refuses it)
            await self._check_stages(row.room_a, row.room_b)
        now = self._now()
        starts = now + self.config.countdown_s * 1000
        ends = starts + row.duration_s * 1000
        claimed = await self._transition(
            battle_id, "invited", sa.and_(pk_battles.c.expires_at > to_datetime(now)),
            state="countdown", starts_at=to_datetime(starts), ends_at=to_datetime(ends), due_at=to_datetime(starts),
        )
        if not claimed:
            raise Conflict("the invitation is no longer open", slug="pk-not-open")
        await self._directory.store.put(_ns(battle_id), WINDOW, f"{starts}:{ends}", expect=None)
        self._scheduled()
        view = await self.announce(battle_id, "countdown")  # the referee may already have started it
        for room_id in (row.room_a, row.room_b):
            await self._withdraw_stage_offers(room_id)
        return view

    async def _withdraw_stage_offers(self, room_id: str) -> None:
        """The battle is on, host against host: the live's pending stage invitations and requests are
        withdrawn (they could not be accepted while it lasts, and would outlive their purpose). Each is
        removed once, so an answer racing this either took it first or finds it gone. A failure here is
        logged: the battle was accepted either way, and what is left still expires on its own."""
        room = self._directory.room(room_id)
        store = self._directory.store
        try:
            for board in (STAGE_INVITES, STAGE_REQUESTS):
                for user_id, _ in await store.top(room_id, board):
                    if await store.remove(room_id, board, user_id):
                        await room.append(CohostDeclined(user_id=user_id, reason="pk_started"))
        except Exception:
            log.exception("withdrawing the stage invitations and requests of room %s", room_id)

    async def reject(self, actor: Actor, battle_id: str) -> PkView:
        await self._host_b(actor, battle_id)
        now = self._now()
        claimed = await self._transition(
            battle_id, "invited", sa.true(), state="rejected", due_at=None, ended_at=to_datetime(now),
        )
        if not claimed:
            raise Conflict("the invitation is no longer open", slug="pk-not-open")
        return await self.announce(battle_id, "rejected")

    async def _transition(self, battle_id: str, current: str, condition: Any, **values: Any) -> bool:
        """Compare-and-set one battle from ``current``: True if this call made the change."""
        values["announce_at"] = to_datetime(self._now())

        async def work(conn: AsyncConnection) -> bool:
            result = await conn.execute(pk_battles.update().where(
                pk_battles.c.id == battle_id, pk_battles.c.state == current, condition).values(**values))
            return result.rowcount == 1

        return await self._db.run(work)

    # Timed transitions (the referee) ----------------------------------------------------------------------

    async def due(self, limit: int = 100) -> list[str]:
        now = to_datetime(self._now())
        async with self._db.read() as conn:
            rows = await conn.execute(sa.select(pk_battles.c.id).where(pk_battles.c.due_at <= now)
                                      .order_by(pk_battles.c.due_at).limit(limit))
            return [r.id for r in rows]

    async def next_due_ms(self) -> int | None:
        async with self._db.read() as conn:
            due = await conn.scalar(sa.select(sa.func.min(pk_battles.c.due_at)))
        return to_ms(due) if due is not None else None

    async def advance(self, battle_id: str) -> bool:
        """Perform this battle's due transition if it is still due; True if this call performed it."""
        now = self._now()
        at = to_datetime(now)
        if await self._transition(battle_id, "invited", pk_battles.c.expires_at <= at,
                                  state="expired", due_at=None, ended_at=at):
            phase = "expired"
        elif await self._transition(battle_id, "countdown", pk_battles.c.starts_at <= at,
                                    state="active", due_at=pk_battles.c.ends_at):
            phase = "active"
        elif await self._end(battle_id, at):
            phase = "ended"
        else:
            return False
        await self.announce(battle_id, phase)
        return True

    async def _end(self, battle_id: str, at: datetime) -> bool:
        row = await self._row(battle_id)
        if row.state != "active" or row.ends_at > at:
            return False
        # Close the window before reading: from here no gift counts, so every referee reads the same scores.
        await self._directory.store.put(_ns(battle_id), WINDOW, CLOSED)
        scores, mvps = await self._live(battle_id)

        async def work(conn: AsyncConnection) -> bool:
            values: dict[str, Any] = {"state": "ended", "due_at": None, "ended_at": at, "announce_at": at}
            for side in ("a", "b"):
                column = pk_battles.c[f"score_{side}"]
                values[f"score_{side}"] = sa.case((column > scores.get(side, 0), column), else_=scores.get(side, 0))
            ended = (await conn.execute(pk_battles.update().where(
                pk_battles.c.id == battle_id, pk_battles.c.state == "active", pk_battles.c.ends_at <= at,
            ).values(values).returning(*pk_battles.c))).one_or_none()
            if ended is None:
                return False  # another referee ended it
            result: dict[str, Any] = {
                "winner": "a" if ended.score_a > ended.score_b else "b" if ended.score_b > ended.score_a else "draw"}
            for side in ("a", "b"):
                top = mvps.get(side)
                if top is not None and top[1] >= (getattr(ended, f"mvp_{side}_coins") or 0):
                    result[f"mvp_{side}"], result[f"mvp_{side}_coins"] = top
            await conn.execute(pk_battles.update().where(pk_battles.c.id == battle_id).values(result))
            return True

        ended = await self._db.run(work)
        if ended:
            await self._directory.store.expire(_ns(battle_id), SCOREBOARD_RETAIN_S)
        return ended

    async def keep(self) -> None:
        """For battles in progress: checkpoint the store's live scores into their rows, or, where the store
        lost them (an in-process store after a restart), put the window and the last checkpoint back."""
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(pk_battles).where(
                pk_battles.c.state.in_(("countdown", "active"))))).all()
        store = self._directory.store
        for row in rows:
            if await store.get(_ns(row.id), WINDOW) is None:
                await self._reseed(row)
            for room_id in (row.room_a, row.room_b):  # a reopened room learns its battle again
                if await store.get(room_id, "status") is not None and await store.get(room_id, PK) is None:
                    await store.put(room_id, PK, (await self._view(row)).model_dump_json(), expect=None)
                    await store.put(room_id, PK_LOCK, row.id, expect=None)
            scores, mvps = await self._live(row.id)
            values: dict[str, Any] = {}
            for side in ("a", "b"):
                if scores.get(side, 0) > getattr(row, f"score_{side}"):
                    values[f"score_{side}"] = scores[side]
                top = mvps.get(side)
                if top is not None and top[1] > (getattr(row, f"mvp_{side}_coins") or 0):
                    values[f"mvp_{side}"], values[f"mvp_{side}_coins"] = top
            if values:
                async def work(conn: AsyncConnection, battle_id: str = row.id, values: dict[str, Any] = values) -> None:
                    await conn.execute(pk_battles.update().where(
                        pk_battles.c.id == battle_id, pk_battles.c.state.in_(("countdown", "active"))).values(values))

                await self._db.run(work)

    async def _reseed(self, row: Any) -> None:
        store = self._directory.store
        ns = _ns(row.id)
        for side in ("a", "b"):
            await store.put_score(ns, SCORE, side, int(getattr(row, f"score_{side}")), raise_only=True)
            if getattr(row, f"mvp_{side}") is not None:
                await store.put_score(ns, _mvp(side), getattr(row, f"mvp_{side}"),
                                      int(getattr(row, f"mvp_{side}_coins")), raise_only=True)
        await store.put(ns, WINDOW, f"{to_ms(row.starts_at)}:{to_ms(row.ends_at)}", expect=None)

    async def unannounced(self, older_than_s: float = 2.0, limit: int = 100) -> list[str]:
        """Battles whose current state's events may not have reached the rooms (a node died in between)."""
        before = to_datetime(self._now() - int(older_than_s * 1000))
        async with self._db.read() as conn:
            rows = await conn.execute(sa.select(pk_battles.c.id).where(pk_battles.c.announce_at <= before)
                                      .order_by(pk_battles.c.announce_at).limit(limit))
            return [r.id for r in rows]

    async def announce(self, battle_id: str, phase: str | None = None) -> PkView:
        """Tell both rooms ``phase`` (a transition the caller made; by default the battle's current state, for
        the retry sweep) and every phase before it they have not had, oldest first, each once; then clear the
        outbox mark if the battle is still in ``phase``. Returns the battle as of ``phase``."""
        current = await self.get(battle_id)
        target = current.state if phase is None else phase
        if target not in PHASES[current.state]:
            raise ValueError(f"PK battle {battle_id} in state {current.state!r} never went through {target!r}")
        store = self._directory.store
        told = current
        for step in PHASES[target]:
            # An earlier phase told late shows the battle as it was then: no result before it ended.
            view = current if step == current.state else current.model_copy(update={"state": step, "winner": None})
            payload: Payload
            if step == "invited":
                payload = PkInvited(battle=view)
            elif step == "countdown":
                payload = PkCountdown(battle=view)
            elif step == "active":
                payload = PkStarted(battle=view)
            elif step == "ended":
                payload = PkEnded(battle=view)
            else:
                payload = PkCancelled(battle=view)
            for side in (view.a, view.b):
                if await store.get(side.room_id, "status") is None:
                    continue  # the room is gone (ended and dropped): nobody to tell
                # The claim, the room's PK field and the event are one step, so the field follows the phases
                # in order and ends at the newest one, whichever node tells which phase.
                await self._directory.room(side.room_id).append_once(
                    payload, board=ANNOUNCED, member=f"{battle_id}:{step}", fields={PK: view.model_dump_json()})
                if step in FINAL_STATES:  # also on a retry: the node that told it may have died before this
                    await store.put(side.room_id, PK_LOCK, None, expect=battle_id)
            told = view

        async def clear(conn: AsyncConnection) -> None:
            await conn.execute(pk_battles.update().where(
                pk_battles.c.id == battle_id, pk_battles.c.state == target).values(announce_at=None))

        await self._db.run(clear)
        return told

    # Scoring ----------------------------------------------------------------------------------------------

    async def score_gift(self, room_id: str, *, receiver_id: str, sender_id: str, coins: int,
                         transfer_id: str) -> None:
        """Count a charged gift if the room is in an active battle and it went to this side's host."""
        store = self._directory.store
        raw = await store.get(room_id, PK)
        if raw is None or coins <= 0:
            return
        view = PkView.model_validate_json(raw)
        if view.state not in ("countdown", "active"):
            return
        side = "a" if view.a.room_id == room_id else "b"
        if receiver_id != (view.a if side == "a" else view.b).host_id:
            return  # gifts to a guest or anyone else do not count
        ns = _ns(view.battle_id)
        adds = [(SCORE, side, coins), (_mvp(side), sender_id, coins)]
        counted = await store.tally(ns, gate=WINDOW, key=transfer_id, now_ms=self._now(), adds=adds)
        if counted is None and await store.get(ns, WINDOW) is None:
            row = await self._row(view.battle_id)
            if row.state not in ("countdown", "active"):
                return
            await self._reseed(row)  # the store lost the scoreboard: restore it from the checkpoint
            counted = await store.tally(ns, gate=WINDOW, key=transfer_id, now_ms=self._now(), adds=adds)
        if counted is None:
            return  # outside the battle's window, or this transfer already counted
        scores = dict(await store.top(ns, SCORE))
        score_a, score_b = scores.get("a", 0), scores.get("b", 0)
        for side_room in (view.a.room_id, view.b.room_id):
            await store.put_score(side_room, PK_SCORES, f"{view.battle_id}:a", score_a, raise_only=True)
            await store.put_score(side_room, PK_SCORES, f"{view.battle_id}:b", score_b, raise_only=True)
            await self._directory.room(side_room).append(
                PkScore(battle_id=view.battle_id, score_a=score_a, score_b=score_b))

    # Leaderboard ------------------------------------------------------------------------------------------

    async def rankings(self, period: Period = "week", limit: int = 50) -> list[Ranking]:
        """Hosts by battles won, then coins scored, over the UTC day, the ISO week (from Monday) or all time."""
        now = to_datetime(self._now())
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
        since = {"day": midnight, "week": midnight - timedelta(days=now.weekday()), "all": None}[period]
        sides = []
        for me, my_score, mine in (
            (pk_battles.c.host_a, pk_battles.c.score_a, "a"), (pk_battles.c.host_b, pk_battles.c.score_b, "b"),
        ):
            query = sa.select(
                me.label("host_id"),
                sa.case((pk_battles.c.winner == mine, 1), else_=0).label("win"),
                sa.case((pk_battles.c.winner == "draw", 1), else_=0).label("draw"),
                my_score.label("points"),
            ).where(pk_battles.c.state == "ended")
            if since is not None:
                query = query.where(pk_battles.c.ended_at >= since)
            sides.append(query)
        both = sa.union_all(*sides).subquery()
        wins = sa.func.sum(both.c.win).label("wins")
        points = sa.func.sum(both.c.points).label("points")
        query = (sa.select(both.c.host_id, wins, sa.func.sum(both.c.draw).label("draws"),
                           sa.func.count().label("battles"), points)
                 .group_by(both.c.host_id).order_by(wins.desc(), points.desc(), both.c.host_id).limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [Ranking(host_id=r.host_id, wins=int(r.wins), draws=int(r.draws),
                        losses=int(r.battles) - int(r.wins) - int(r.draws), points=int(r.points)) for r in rows]
