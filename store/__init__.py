"""Storage: the database engine and schema, migrations, and the coin ledger (``store.ledger``).

Nothing here depends on any other package of the service.
"""
