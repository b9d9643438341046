"""Reporting periods and time buckets over ``UtcDateTime`` columns (integer milliseconds)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from store.types import utcnow

_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}
_MONDAY_OFFSET_MS = 4 * 86_400_000  # the epoch was a Thursday; weekly buckets start on Mondays


def since(period: str, now: datetime | None = None) -> datetime | None:
    """Start of a rolling period ending now; None for all time."""
    if period == "all":
        return None
    return (now or utcnow()) - _LENGTH[period]


def bucket_start(column: sa.ColumnElement[datetime], bucket: str) -> sa.ColumnElement[int]:
    """The bucket's first millisecond, computed in SQL with integer arithmetic that SQLite and PostgreSQL
    share (``%`` on non-negative integers)."""
    size = BUCKET_MS[bucket]
    millis = sa.type_coerce(column, sa.BigInteger)
    offset = _MONDAY_OFFSET_MS if bucket == "week" else 0
    return millis - (millis - offset) % size
