"""``mixillo seed-demo``: demo accounts (and, from each domain, its demo catalog), safe to run twice."""

from __future__ import annotations

import sqlalchemy as sa

from api.auth.accounts import Accounts
from api.auth.passwords import Passwords
from api.auth.tokens import AccessTokens, Role
from api.config import Settings
from api.economy.catalog import seed_catalog
from store import migrate
from store.database import Database
from store.schema.accounts import users

DEMO_PASSWORD = "mixillo-demo"
DEMO_USERS = [
    ("admin", Role.ADMIN, "Mixillo Admin"),
    ("alice", Role.CREATOR, "Alice Streams"),
    ("bruno", Role.CREATOR, "Bruno Live"),
    ("carla", Role.USER, "Carla"),
    ("dmitri", Role.USER, "Dmitri"),
]


async def seed_demo(settings: Settings) -> list[str]:
    db = Database(settings.database)
    report: list[str] = []
    try:
        await migrate.upgrade(db)
        accounts = Accounts(db, Passwords(), AccessTokens(settings.secret(), 60), 3600)
        for username, role, name in DEMO_USERS:
            async with db.read() as conn:
                exists = (await conn.execute(sa.select(users.c.id).where(users.c.username == username))).first()
            if exists is None:
                await accounts.create(username, f"{username}@demo.mixillo.live", DEMO_PASSWORD, role, name)
                report.append(f"user {username} ({role.value}) created, password {DEMO_PASSWORD!r}")
            else:
                report.append(f"user {username} exists")
        async with db.write() as conn:
            report.extend(await seed_catalog(conn))
    finally:
        await db.close()
    return report
