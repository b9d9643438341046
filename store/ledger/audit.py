"""The ledger's invariants, checked with aggregate queries (``mixillo ledger-check``).

1. Per currency, the sum of debits equals the sum of credits (and so all balances sum to zero).
2. Every leg of every transfer is exactly one debit and one credit of the same amount and currency.
3. Every account's stored balance equals the sum of its credits minus the sum of its debits, and equals the
   ``balance_after`` of its newest entry.
4. No user account is below zero; every entry's currency is its account's currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from store.database import Database
from store.schema.ledger import ledger_accounts as accounts
from store.schema.ledger import ledger_entries as entries
from store.schema.ledger import ledger_transfers as transfers

_SHOWN = 20  # violations listed per check; the count is always complete


@dataclass
class AuditReport:
    transfers: int = 0
    entries: int = 0
    accounts: int = 0
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # currency -> (debits, credits)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"ledger: {self.accounts} accounts, {self.transfers} transfers, {self.entries} entries"]
        for currency, (debits, credits) in sorted(self.totals.items()):
            mark = "ok" if debits == credits else "MISMATCH"
            out.append(f"  {currency}: debits {debits} credits {credits} {mark}")
        out.extend(f"  PROBLEM: {p}" for p in self.problems)
        out.append("ledger-check: OK" if self.ok else f"ledger-check: FAILED ({len(self.problems)} problem(s))")
        return out


async def audit(db: Database) -> AuditReport:
    report = AuditReport()
    debit = sa.case((entries.c.side == "D", entries.c.amount), else_=0)
    credit = sa.case((entries.c.side == "C", entries.c.amount), else_=0)
    async with db.read() as conn:
        report.transfers = int(await conn.scalar(sa.select(sa.func.count()).select_from(transfers)) or 0)
        report.entries = int(await conn.scalar(sa.select(sa.func.count()).select_from(entries)) or 0)
        report.accounts = int(await conn.scalar(sa.select(sa.func.count()).select_from(accounts)) or 0)

        totals = sa.select(entries.c.currency, sa.func.sum(debit), sa.func.sum(credit)).group_by(entries.c.currency)
        for row in await conn.execute(totals):
            currency, debits, credits = str(row[0]), int(row[1] or 0), int(row[2] or 0)
            report.totals[currency] = (debits, credits)
            if debits != credits:
                report.problems.append(f"{currency}: debits {debits} != credits {credits}")

        legs = (
            sa.select(entries.c.transfer_id, entries.c.leg)
            .group_by(entries.c.transfer_id, entries.c.leg)
            .having(
                sa.or_(
                    sa.func.count() != 2,
                    sa.func.sum(debit) != sa.func.sum(credit),
                    sa.func.count(sa.distinct(entries.c.currency)) != 1,
                    sa.func.sum(sa.case((entries.c.side == "D", 1), else_=0)) != 1,
                )
            )
        )
        bad_legs = (await conn.execute(legs)).all()
        for row in bad_legs[:_SHOWN]:
            report.problems.append(f"transfer {row.transfer_id} leg {row.leg} is not one balanced debit/credit")
        _more(report, len(bad_legs), "unbalanced legs")

        empty = sa.select(transfers.c.id).where(~sa.exists().where(entries.c.transfer_id == transfers.c.id))
        no_entries = (await conn.execute(empty)).all()
        for row in no_entries[:_SHOWN]:
            report.problems.append(f"transfer {row.id} has no entries")
        _more(report, len(no_entries), "transfers without entries")

        sums = (
            sa.select(
                entries.c.account_id,
                (sa.func.sum(credit) - sa.func.sum(debit)).label("net"),
                sa.func.max(entries.c.id).label("last_id"),
            )
            .group_by(entries.c.account_id)
            .subquery()
        )
        last = entries.alias("last_entry")
        balances = sa.select(
            accounts.c.id,
            accounts.c.balance,
            accounts.c.kind,
            accounts.c.currency,
            sums.c.net,
            last.c.balance_after,
        ).select_from(
            accounts.outerjoin(sums, sums.c.account_id == accounts.c.id).outerjoin(last, last.c.id == sums.c.last_id)
        )
        wrong = 0
        for row in await conn.execute(balances):
            net = int(row.net or 0)
            issues = []
            if row.balance != net:
                issues.append(f"stored balance {row.balance} != sum of entries {net}")
            if row.balance_after is not None and row.balance_after != row.balance:
                issues.append(f"newest entry says {row.balance_after}")
            if row.kind == "user" and row.balance < 0:
                issues.append("user balance below zero")
            if issues:
                wrong += 1
                if wrong <= _SHOWN:
                    report.problems.append(f"account {row.id}: " + "; ".join(issues))
        _more(report, wrong, "accounts with wrong balances")

        mismatched = (
            sa.select(sa.func.count())
            .select_from(entries.join(accounts, accounts.c.id == entries.c.account_id))
            .where(entries.c.currency != accounts.c.currency)
        )
        count = int(await conn.scalar(mismatched) or 0)
        if count:
            report.problems.append(f"{count} entries in a currency other than their account's")
    return report


def _more(report: AuditReport, count: int, what: str) -> None:
    if count > _SHOWN:
        report.problems.append(f"... {count - _SHOWN} more {what}")
