"""The demo catalog ``mixillo seed-demo`` loads: coin packages, gifts, levels (data, editable later)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.schema.economy import coin_packages, gifts, levels

ASSETS = "/static/gifts"

# id, name, coins, bonus coins, price in US cents
PACKAGES = [
    ("coins_70", "70 coins", 70, 0, 99),
    ("coins_350", "350 coins", 350, 0, 499),
    ("coins_700", "700 coins", 700, 35, 999),
    ("coins_1400", "1,400 coins", 1400, 105, 1999),
    ("coins_3500", "3,500 coins", 3500, 350, 4999),
    ("coins_7000", "7,000 coins", 7000, 1050, 9999),
]

# id, name, category, coin price, diamond value (None: the creator share), streakable
GIFTS = [
    ("rose", "Rose", "basic", 1, None, True),
    ("heart", "Heart", "basic", 5, None, True),
    ("finger_heart", "Finger Heart", "basic", 10, None, True),
    ("doughnut", "Doughnut", "basic", 30, None, True),
    ("hat", "Hat", "popular", 99, None, False),
    ("corgi", "Corgi", "popular", 299, None, False),
    ("sports_car", "Sports Car", "premium", 7000, None, False),
    ("rocket", "Rocket", "premium", 20000, 10500, False),
    ("universe", "Universe", "premium", 34999, 18000, False),
]

# level, name, min xp, badge
LEVELS = [
    (1, "Newcomer", 0, "seedling"),
    (2, "Fan", 100, "spark"),
    (3, "Supporter", 500, "star"),
    (4, "Patron", 2000, "gem"),
    (5, "Champion", 10_000, "crown"),
    (6, "Legend", 50_000, "phoenix"),
    (7, "Mythic", 250_000, "galaxy"),
]


async def seed_catalog(conn: AsyncConnection) -> list[str]:
    """Insert the rows that are missing (by id); existing rows, possibly edited, are left alone."""
    report = []
    rows: list[tuple[sa.Table, sa.Column[Any], list[dict[str, Any]]]] = [
        (
            coin_packages,
            coin_packages.c.id,
            [
                {
                    "id": i,
                    "name": n,
                    "coins": c,
                    "bonus_coins": b,
                    "price_cents": p,
                    "price_currency": "USD",
                    "active": True,
                    "position": pos,
                }
                for pos, (i, n, c, b, p) in enumerate(PACKAGES)
            ],
        ),
        (
            gifts,
            gifts.c.id,
            [
                {
                    "id": i,
                    "name": n,
                    "category": cat,
                    "coin_price": price,
                    "diamond_value": value,
                    "animation_url": f"{ASSETS}/{i}.json",
                    "streakable": streak,
                    "active_from": None,
                    "active_until": None,
                    "position": pos,
                }
                for pos, (i, n, cat, price, value, streak) in enumerate(GIFTS)
            ],
        ),
        (
            levels,
            levels.c.level,
            [
                {
                    "level": lv,
                    "name": n,
                    "min_xp": xp,
                    "badge": badge,
                    "badge_icon_url": f"/static/badges/{badge}.svg",
                }
                for lv, n, xp, badge in LEVELS
            ],
        ),
    ]
    for table, key, values in rows:
        present: set[Any] = set((await conn.execute(sa.select(key))).scalars())
        missing = [v for v in values if v[key.name] not in present]
        if missing:
            await conn.execute(table.insert(), missing)
        report.append(f"{table.name}: {len(missing)} added, {len(values) - len(missing)} present")
    return report
