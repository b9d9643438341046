"""Builds issue 5's services (shop, creator tools, safety, AI) onto the application; called by ``create_app``.

Wired to the social domains (``app[SOCIAL]``, built before this runs): notices (order status, support replies,
moderation, scheduled items) go through its notifications service; content, comments and messages are
moderation targets (:mod:`api.social.moderation`), as are users, products and livestreams; due posts publish
held uploads and live reminders reach the creator's followers (:class:`~api.creator.publisher.SocialPublisher`);
views, likes, comments, shares, follows and gifts reach ``app[ANALYTICS]`` through the batching
:class:`~api.creator.feed.AnalyticsFeed`; published posts join the AI hashtag corpus
(:class:`~api.ai.posts.PostCorpus`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from api.ai.local import LocalAi
from api.ai.posts import PostCorpus
from api.ai.provider import AiProvider
from api.ai.remote import RemoteAi
from api.ai.service import AiService
from api.commerce.cart import Cart
from api.commerce.coupons import Coupons
from api.commerce.orders import Orders
from api.commerce.payments import LedgerPayments
from api.commerce.products import Catalog
from api.config import ConfigError, Settings
from api.creator.analytics import Analytics
from api.creator.feed import AnalyticsFeed
from api.creator.publisher import SocialPublisher
from api.creator.scheduling import Scheduler
from api.safety.moderation import Moderation
from api.safety.reports import Reports
from api.safety.support import Support
from api.safety.targets import LivestreamTarget, TargetKind, Targets, UserTarget
from api.social.drafts import Drafts
from api.social.moderation import CommentTarget, ContentTarget, MessageTarget
from api.state import (
    ACCOUNTS,
    AI,
    AI_PROVIDER,
    ANALYTICS,
    ANALYTICS_FEED,
    CART,
    CATALOG,
    COUPONS,
    ECONOMY,
    MODERATION,
    ORDERS,
    REPORTS,
    ROOMS,
    SCHEDULER,
    SOCIAL,
    SUPPORT,
    TARGETS,
)
from store.database import Database


def install(app: web.Application, settings: Settings, db: Database) -> None:
    social = app[SOCIAL]
    notifier = social.notifications
    targets = Targets()
    app[TARGETS] = targets
    moderation = Moderation(db, targets, app[ACCOUNTS], notifier, settings.report_queue_threshold)
    app[MODERATION] = moderation
    app[REPORTS] = Reports(db, moderation)
    app[SUPPORT] = Support(db, notifier)

    coupons = Coupons(db)
    app[COUPONS] = coupons
    provider: AiProvider
    if settings.ai_provider == "remote":
        if not settings.ai_remote_url:
            raise ConfigError("MIXILLO_AI_REMOTE_URL: required when MIXILLO_AI_PROVIDER=remote")
        provider = RemoteAi(settings.ai_remote_url, settings.ai_remote_timeout_s)
    else:
        provider = LocalAi()
    app[AI_PROVIDER] = provider
    ai = AiService(db, provider, moderation)
    ai.sources.append(PostCorpus(db))
    app[AI] = ai

    catalog = Catalog(db, screen=ai.screen)
    app[CATALOG] = catalog
    app[CART] = Cart(db)
    analytics = Analytics(db)
    app[ANALYTICS] = analytics
    feed = AnalyticsFeed(analytics, settings.analytics_flush_s)
    app[ANALYTICS_FEED] = feed
    social.observe(feed)
    app[ECONOMY].gifting.observers.append(feed.gift)
    payments = LedgerPayments(db, app[ECONOMY], settings.topup_cents_per_100_coins)
    app[ORDERS] = Orders(db, coupons, payments=payments, activity=analytics, watcher=notifier)
    drafts = Drafts(db)
    drafts.feed_cache = social.feed.cache
    scheduler = Scheduler(
        db,
        SocialPublisher(drafts, notifier, social.profiles.follower_ids),
        poll_s=settings.scheduler_poll_s,
        lease_s=settings.scheduler_lease_s,
        reminder_lead_s=settings.live_reminder_lead_s,
    )
    app[SCHEDULER] = scheduler
    stale_after = timedelta(seconds=settings.order_payment_timeout_s)

    async def recover_orders() -> int:
        return await app[ORDERS].recover_stale(stale_after)

    scheduler.chores.append(recover_orders)

    targets.register(TargetKind.USER, UserTarget(db))
    targets.register(TargetKind.PRODUCT, catalog)
    content_target = ContentTarget(db)
    content_target.feed_cache = social.feed.cache
    for kind, target in (
        (TargetKind.CONTENT, content_target),
        (TargetKind.COMMENT, CommentTarget(db)),
        (TargetKind.MESSAGE, MessageTarget(db)),
    ):
        targets.register(kind, target, target.visible_to)
    async def take_off_air(stream_id: str) -> None:
        # Through the room service, so viewers get the end event and the stage, shop and media all close.
        await app[ROOMS].lives.terminate(stream_id, by="platform")

    lives = LivestreamTarget(db, take_off_air)
    targets.register(TargetKind.LIVESTREAM, lives)
    moderation.on_ban.append(lives.end_all_of)  # a banned user's live ends with the ban

    async def run_scheduler(app: web.Application) -> AsyncIterator[None]:
        # Registered after the database context, so it starts after migrations and stops before the pool closes.
        scheduler.start()
        feed.start()
        yield
        await feed.close()
        await scheduler.close()
        await provider.close()

    app.cleanup_ctx.append(run_scheduler)
