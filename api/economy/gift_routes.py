"""``/api/gifts``, ``/api/supporters``, ``/api/monetization`` (earnings, stats), ``/api/levels``."""

from __future__ import annotations

from aiohttp import web

from api import idempotency
from api.economy.keys import ledger_key
from api.economy.models import (
    Earnings,
    Gift,
    GiftReceipt,
    GiftSendRequest,
    Level,
    MyLevel,
    PeriodQuery,
    PopularGift,
    RankingQuery,
    Stats,
    StatsQuery,
    Supporter,
)
from api.economy.periods import since
from api.problems import NotFound
from api.routing import Access, Routes, principal
from api.state import ECONOMY
from store.ids import is_id

routes = Routes()
GIFTS, SUPPORTERS, MONETIZATION, LEVELS = ("gifts",), ("supporters",), ("monetization",), ("levels",)


def _models(items: list[Gift] | list[PopularGift] | list[Supporter] | list[Level]) -> web.Response:
    return web.json_response([item.model_dump(mode="json") for item in items])


@routes.get("/api/gifts", response=list[Gift], access=Access.PUBLIC, tags=GIFTS)
async def gift_catalog(request: web.Request) -> web.Response:
    """The gifts on offer now (``?category=`` narrows them)."""
    return _models(await request.app[ECONOMY].gifting.catalog(request.query.get("category")))


@routes.get("/api/gifts/popular", query=PeriodQuery, response=list[PopularGift], access=Access.PUBLIC, tags=GIFTS)
async def popular_gifts(request: web.Request, query: PeriodQuery) -> web.Response:
    """Gifts ranked by coins spent on them in the period."""
    return _models(await request.app[ECONOMY].gifting.popular(since(query.period), 20))


@routes.get("/api/gifts/{gift_id}", response=Gift, access=Access.PUBLIC, tags=GIFTS, errors=(404,))
async def gift(request: web.Request) -> Gift:
    """One gift of the catalog."""
    return await request.app[ECONOMY].gifting.get(request.match_info["gift_id"])


@routes.post(
    "/api/gifts/send",
    body=GiftSendRequest,
    response=GiftReceipt,
    status=201,
    tags=GIFTS,
    idempotent=True,
    errors=(402, 404, 409),
)
async def send_gift(request: web.Request, body: GiftSendRequest) -> GiftReceipt:
    """Send a gift: the sender pays its coins, the receiver earns its diamonds, in one transfer."""
    who = principal(request)
    key = ledger_key("gift", who.user_id, request.headers.get(idempotency.HEADER))
    return await request.app[ECONOMY].gifting.send(
        who.user_id,
        body.receiver_id,
        body.gift_id,
        quantity=body.quantity,
        key=key,
        livestream_id=body.livestream_id,
        combo_id=body.combo_id,
    )


@routes.get("/api/supporters/top", query=RankingQuery, response=list[Supporter], access=Access.PUBLIC, tags=SUPPORTERS)
async def top_supporters(request: web.Request, query: RankingQuery) -> web.Response:
    """The biggest gifters across all creators in the period."""
    return _models(await request.app[ECONOMY].supporters.top(query.period, query.limit))


@routes.get(
    "/api/supporters/{user_id}",
    query=RankingQuery,
    response=list[Supporter],
    access=Access.PUBLIC,
    tags=SUPPORTERS,
    errors=(404,),
)
async def creator_supporters(request: web.Request, query: RankingQuery) -> web.Response:
    """A creator's supporters ranked by coins gifted in the period (day, week or all)."""
    user_id = request.match_info["user_id"]
    if not is_id(user_id):
        raise NotFound(f"no user {user_id}", slug="unknown-user")
    return _models(await request.app[ECONOMY].supporters.of_creator(user_id, query.period, query.limit))


@routes.get("/api/monetization/earnings", query=PeriodQuery, response=Earnings, tags=MONETIZATION)
async def earnings(request: web.Request, query: PeriodQuery) -> Earnings:
    """The caller's diamonds earned in the period, by source, with balance and payouts."""
    return await request.app[ECONOMY].earnings.earnings(principal(request).user_id, query.period)


@routes.get("/api/monetization/stats", query=StatsQuery, response=Stats, tags=MONETIZATION)
async def stats(request: web.Request, query: StatsQuery) -> Stats:
    """The caller's gifts received in time buckets: diamonds, gift count, distinct supporters."""
    return await request.app[ECONOMY].earnings.stats(principal(request).user_id, query.period, query.bucket)


@routes.get("/api/levels", response=list[Level], access=Access.PUBLIC, tags=LEVELS)
async def level_table(request: web.Request) -> web.Response:
    """Every level, its XP threshold and badge."""
    return _models(await request.app[ECONOMY].levels.table())


@routes.get("/api/levels/my-level", response=MyLevel, tags=LEVELS)
async def my_level(request: web.Request) -> MyLevel:
    """The caller's XP, level, progress to the next and earned badges."""
    return await request.app[ECONOMY].levels.mine(principal(request).user_id)


@routes.get("/api/levels/{level}", response=Level, access=Access.PUBLIC, tags=LEVELS, errors=(404,))
async def level(request: web.Request) -> Level:
    """One level."""
    raw = request.match_info["level"]
    if not raw.isdigit() or len(raw) > 6:
        raise NotFound(f"no level {raw}", slug="unknown-level")
    return await request.app[ECONOMY].levels.get(int(raw))
