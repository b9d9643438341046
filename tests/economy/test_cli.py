"""``mixillo seed-demo`` loads the catalog once; ``mixillo ledger-check`` passes a sound ledger and exits 1,
with a report naming the broken account, when a balance no longer matches its entries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from store.database import Database
from store.ledger import Account, Currency, Ledger
from store.schema.accounts import users
from store.schema.ledger import ledger_accounts
from tests.conftest import ROOT, TEST_SECRET
from tests.economy.conftest import fund


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MIXILLO_DATA_DIR": str(data_dir),
        "MIXILLO_JWT_SECRET": TEST_SECRET,
        "MIXILLO_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


async def test_seed_then_check_then_break(tmp_path: Path) -> None:
    first = cli(tmp_path, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "gifts: 9 added, 0 present" in first.stdout and "levels: 7 added, 0 present" in first.stdout
    again = cli(tmp_path, "seed-demo")
    assert "gifts: 0 added, 9 present" in again.stdout and "coin_packages: 0 added, 6 present" in again.stdout

    db = Database(f"sqlite:///{tmp_path / 'mixillo.db'}")
    try:
        async with db.read() as conn:
            carla = await conn.scalar(sa.select(users.c.id).where(users.c.username == "carla"))
        assert carla is not None
        ledger = Ledger(db)
        await fund(ledger, carla, 500)
        await ledger.close()
        ok = cli(tmp_path, "ledger-check")
        assert ok.returncode == 0, ok.stderr
        assert "coins: debits 500 credits 500 ok" in ok.stdout and "ledger-check: OK" in ok.stdout

        account = Account.user(carla, Currency.COINS).id
        async with db.write() as conn:  # what a buggy "UPDATE balance = balance + 1" elsewhere would do
            await conn.execute(ledger_accounts.update().where(ledger_accounts.c.id == account).values(balance=501))
    finally:
        await db.close()
    broken = cli(tmp_path, "ledger-check")
    assert broken.returncode == 1
    assert f"account {account}: stored balance 501 != sum of entries 500" in broken.stderr
    assert "ledger-check: FAILED (1 problem(s))" in broken.stderr
