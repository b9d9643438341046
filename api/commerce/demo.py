"""The demo shop for ``mixillo seed-demo``: a few products from the demo creators and a welcome coupon.

Clearly demo data (the seller accounts are the demo users); safe to run twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.ids import new_id
from store.schema.accounts import users
from store.schema.commerce import coupons, products
from store.types import utcnow

DEMO_PRODUCTS = [
    ("alice", 'Ring light 10"', "Dimmable LED ring light with phone holder #streamsetup", "lighting", 2499, 40),
    ("alice", "Lavalier microphone", "Clip-on mic for clear voice on live #streamsetup #audio", "audio", 1899, 25),
    ("bruno", "Bruno Live hoodie", "Soft cotton hoodie, limited run #merch", "merch", 4500, 12),
]
DEMO_COUPON = "WELCOME10"


async def seed_shop(conn: AsyncConnection) -> list[str]:
    report: list[str] = []
    sellers = {r.username: r.id for r in await conn.execute(sa.select(users.c.username, users.c.id))}
    now = utcnow()
    for username, title, description, category, price, stock in DEMO_PRODUCTS:
        seller = sellers.get(username)
        if seller is None:
            continue
        exists = await conn.execute(
            sa.select(products.c.id).where(products.c.seller_id == seller, products.c.title == title)
        )
        if exists.first() is not None:
            continue
        await conn.execute(
            products.insert().values(
                id=new_id(),
                seller_id=seller,
                title=title,
                description=description,
                category=category,
                price=price,
                currency="USD",
                stock=stock,
                sold=0,
                image_url=None,
                featured=False,
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
        report.append(f"product {title!r} by {username} created")
    admin = sellers.get("admin")
    taken = await conn.execute(sa.select(coupons.c.id).where(coupons.c.code == DEMO_COUPON))
    if admin is not None and taken.first() is None:
        await conn.execute(
            coupons.insert().values(
                id=new_id(),
                code=DEMO_COUPON,
                owner_id=admin,
                kind="percent",
                value=10,
                min_order=1000,
                scope="all",
                scope_id=None,
                max_uses=None,
                per_user_limit=1,
                uses=0,
                starts_at=now,
                expires_at=None,
                active=True,
                description="10% off a first order of $10 or more",
                created_at=now,
            )
        )
        report.append(f"coupon {DEMO_COUPON} created")
    return report
