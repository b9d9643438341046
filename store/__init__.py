"""Storage: the database engine and schema, migrations, and (later) the coin ledger.

Nothing here depends on any other package of the service.
"""
