"""Builds issue 5's services (shop, creator tools, safety, AI) onto the application; called by ``create_app``.

Seams other domains plug into, after this runs: ``app[TARGETS].register(kind, target)`` for content,
comments, messages and livestreams; ``app[NOTIFIER]`` (replace with the notifications service);
``app[ORDERS].payments`` (the ledger/card :class:`~api.commerce.orders.OrderPayments`); ``app[ANALYTICS].record``
(feed it the activity events); the scheduler's ``publisher`` (creates the content of a due post).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from api.commerce.cart import Cart
from api.commerce.coupons import Coupons
from api.commerce.orders import Orders
from api.commerce.products import Catalog
from api.config import Settings
from api.creator.analytics import Analytics
from api.creator.scheduling import NoticePublisher, Scheduler
from api.safety.moderation import Moderation
from api.safety.notices import MemoryInbox
from api.safety.reports import Reports
from api.safety.support import Support
from api.safety.targets import Targets, TargetKind, UserTarget
from api.state import (
    ACCOUNTS, ANALYTICS, CART, CATALOG, COUPONS, MODERATION, NOTIFIER, ORDERS, REPORTS, SCHEDULER, SUPPORT, TARGETS,
)
from store.database import Database


def install(app: web.Application, settings: Settings, db: Database) -> None:
    notifier = MemoryInbox()
    app[NOTIFIER] = notifier
    targets = Targets()
    app[TARGETS] = targets
    moderation = Moderation(db, targets, app[ACCOUNTS], notifier, settings.report_queue_threshold)
    app[MODERATION] = moderation
    app[REPORTS] = Reports(db, moderation)
    app[SUPPORT] = Support(db, notifier)

    coupons = Coupons(db)
    app[COUPONS] = coupons
    catalog = Catalog(db)
    app[CATALOG] = catalog
    app[CART] = Cart(db)
    analytics = Analytics(db)
    app[ANALYTICS] = analytics
    app[ORDERS] = Orders(db, coupons, activity=analytics)
    scheduler = Scheduler(db, NoticePublisher(notifier), poll_s=settings.scheduler_poll_s,
                          lease_s=settings.scheduler_lease_s, reminder_lead_s=settings.live_reminder_lead_s)
    app[SCHEDULER] = scheduler

    targets.register(TargetKind.USER, UserTarget(db))
    targets.register(TargetKind.PRODUCT, catalog)

    async def run_scheduler(app: web.Application) -> AsyncIterator[None]:
        # Registered after the database context, so it starts after migrations and stops before the pool closes.
        scheduler.start()
        yield
        await scheduler.close()

    app.cleanup_ctx.append(run_scheduler)
