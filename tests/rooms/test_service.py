"""The assembled service: its tasks start and stop with it, and the domains work together through it."""

from __future__ import annotations

import asyncio

from api.config import Settings
from rooms.events import GiftSent, PkEnded
from rooms.pk import PkConfig
from rooms.room import RoomConfig
from rooms.service import RoomService, RoomServiceConfig
from rooms.store import RoomStore
from store.database import Database
from tests.rooms.conftest import ALICE, BOB, HOST, FakeCharger, FakeClock, FakeMedia, Sink
from tests.rooms.test_lives import FakeFollowers
from tests.rooms.test_pk import HOST2
from tests.rooms.test_shopping import FakeCommerce


async def test_two_lives_battle_through_the_service(db: Database, store: RoomStore, clock: FakeClock,
                                                    sink: Sink) -> None:
    config = RoomServiceConfig(room=RoomConfig(like_window_s=0.01), pk=PkConfig(countdown_s=0),
                               referee_interval_s=0.01)
    service = RoomService(db, store, sink, charger=FakeCharger({"alice": 100, "bob": 100}), media=FakeMedia(),
                          orders=FakeCommerce(), followers=FakeFollowers(), config=config, clock=clock)
    async with service.running():
        tasks = {t.get_name() for t in asyncio.all_tasks()}
        assert {"rooms-ticker", "pk-referee"} <= tasks
        one = await service.lives.create(HOST, title="one", category="music")
        two = await service.lives.create(HOST2, title="two", category="music")
        await service.lives.start(HOST, one.id)
        await service.lives.start(HOST2, two.id)
        await service.rooms.room(one.id).join(ALICE)
        battle = await service.battles.invite(HOST, one.id, two.id, 60)
        await service.battles.accept(HOST2, battle.battle_id)
        for _ in range(300):  # the referee starts it (countdown 0)
            if sink.of("pk.started"):
                break
            await asyncio.sleep(0.01)
        await service.gifts.send(one.id, ALICE, receiver_id="host", gift_id="rose", key="a", quantity=40)
        await service.gifts.send(two.id, BOB, receiver_id="host2", gift_id="rose", key="b", quantity=25)
        clock.advance(60)
        service.referee.nudge()
        for _ in range(300):
            if len(sink.of("pk.ended")) == 2:
                break
            await asyncio.sleep(0.01)
        ended = [e.data for e in sink.of("pk.ended") if isinstance(e.data, PkEnded)]
        assert len(ended) == 2 and ended[0].battle.winner == "a" and ended[0].battle.a.score == 40
        await service.lives.end(HOST, one.id)
    assert {"rooms-ticker", "pk-referee"}.isdisjoint(t.get_name() for t in asyncio.all_tasks())
    gifts = [e.data for e in sink.events if isinstance(e.data, GiftSent)]
    assert [(g.sender_id, g.coins) for g in gifts] == [("alice", 40), ("bob", 25)]
    assert [t for _, t in sink.history(one.id)] == [
        "viewer.joined", "pk.invited", "pk.countdown", "pk.started", "gift.sent", "pk.score", "pk.score",
        "pk.ended", "room.ended",
    ]


def test_the_service_reads_its_settings() -> None:
    settings = Settings.model_validate({"room_chat_per_minute": 30, "pk_duration_s": 120, "room_cohost_seats": 4,
                                        "room_like_window_ms": 250, "room_replay_buffer": 64})
    config = RoomServiceConfig.from_settings(settings)
    assert (config.room.chat_per_s, config.room.cohost_seats, config.room.like_window_s) == (0.5, 4, 0.25)
    assert (config.pk.default_duration_s, config.pk.invite_ttl_s, config.replay_buffer) == (120, 30, 64)
    defaults = RoomServiceConfig.from_settings(Settings())
    assert defaults.room == RoomConfig() and defaults.pk == PkConfig()


async def test_kicking_a_co_host_takes_them_off_stage(db: Database, store: RoomStore, clock: FakeClock,
                                                     sink: Sink) -> None:
    media = FakeMedia()
    service = RoomService(db, store, sink, charger=FakeCharger(), media=media, orders=FakeCommerce(), clock=clock)
    live = await service.lives.create(HOST, title="t", category="c")
    await service.lives.start(HOST, live.id)
    await service.stage.invite(HOST, live.id, "alice")
    await service.stage.accept(ALICE, live.id)
    await service.kick(HOST, live.id, "alice")
    await service.kick(HOST, live.id, "bob")  # not on stage: only the room kick
    assert media.calls == [("ingest", "host"), ("token", "alice"), ("close", "alice")]
    assert [t for _, t in sink.history(live.id)] == [
        "cohost.invited", "cohost.joined", "moderation.kicked", "cohost.left", "moderation.kicked"]
    assert await service.stage.seats(live.id) == []
