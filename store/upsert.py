"""``INSERT ... ON CONFLICT`` for both backends: SQLite (3.24+) and PostgreSQL spell it the same way."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
