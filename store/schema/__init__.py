"""The database schema, as SQLAlchemy Core tables, one module per domain.

Every module registers its tables on :data:`metadata`; migrations (``store/migrations``) create them, and a
test checks that the migrated database matches this metadata exactly.
"""

from sqlalchemy import MetaData

# Deterministic constraint names, so migrations can refer to them on both SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

from store.schema import accounts as accounts  # noqa: E402  (registers tables on metadata)
from store.schema import economy as economy  # noqa: E402
from store.schema import ledger as ledger  # noqa: E402
