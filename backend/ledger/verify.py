"""Recompute the ledger from its entries and check every invariant and the hash chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger.chain import GENESIS_HASH, link_hash
from backend.ledger.models import AccountBalance, Entry, Hold, HoldStatus, LedgerChainHead, LedgerSeal, Transfer
from backend.tenants.models import Tenant

t = Transfer.__table__
e = Entry.__table__
b = AccountBalance.__table__
h = Hold.__table__
seal = LedgerSeal.__table__
head = LedgerChainHead.__table__


UNSEALED_PREFIX = "hash chain: unsealed: "


@dataclass
class VerifyReport:
    tenant_id: int
    tenant_slug: str
    accounts: int = 0
    transfers: int = 0
    entries: int = 0
    sealed: int = 0
    total_balance: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        status = "OK" if self.ok else f"{len(self.problems)} PROBLEM(S)"
        return (
            f"{self.tenant_slug}: {status} - {self.accounts} accounts, {self.transfers} transfers, "
            f"{self.entries} entries, {self.sealed} sealed, balances sum to {self.total_balance}"
        )


async def verify_tenant(session: AsyncSession, *, tenant_id: int, max_problems: int = 100) -> VerifyReport:
    tenant = await session.get(Tenant, tenant_id)
    report = VerifyReport(tenant_id=tenant_id, tenant_slug=tenant.slug if tenant else str(tenant_id))

    def problem(message: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(message)

    entry_sums = {
        row.account_id: (row.total, row.n)
        for row in (
            await session.execute(
                select(e.c.account_id, func.sum(e.c.amount).label("total"), func.count().label("n"))
                .where(e.c.tenant_id == tenant_id)
                .group_by(e.c.account_id)
            )
        ).all()
    }
    shard_sums = {
        row.account_id: (row.balance, row.pending)
        for row in (
            await session.execute(
                select(
                    b.c.account_id,
                    func.sum(b.c.balance).label("balance"),
                    func.sum(b.c.pending).label("pending"),
                )
                .where(b.c.tenant_id == tenant_id)
                .group_by(b.c.account_id)
            )
        ).all()
    }
    held = {
        row.debit_account_id: row.total
        for row in (
            await session.execute(
                select(h.c.debit_account_id, func.sum(h.c.amount).label("total"))
                .where(h.c.tenant_id == tenant_id, h.c.status == HoldStatus.PENDING.value)
                .group_by(h.c.debit_account_id)
            )
        ).all()
    }
    report.accounts = len(shard_sums)
    report.entries = sum(n for _, n in entry_sums.values())
    for account_id in sorted(set(entry_sums) | set(shard_sums)):
        from_entries = int(entry_sums.get(account_id, (0, 0))[0] or 0)
        cached, pending = shard_sums.get(account_id, (None, None))
        if cached is None:
            problem(f"account {account_id} has entries but no balance rows")
            continue
        if int(cached) != from_entries:
            problem(f"account {account_id}: cached balance {int(cached)} != sum of entries {from_entries}")
        if int(pending) != int(held.get(account_id, 0)):
            problem(f"account {account_id}: pending {int(pending)} != open holds {int(held.get(account_id, 0))}")
        report.total_balance += int(cached)
    if report.total_balance != 0:
        problem(f"balances of the municipality sum to {report.total_balance}, not 0")

    below = (
        await session.execute(
            select(b.c.account_id, b.c.slot).where(
                b.c.tenant_id == tenant_id, b.c.floor.is_not(None), b.c.balance - b.c.pending < b.c.floor
            )
        )
    ).all()
    for row in below:
        problem(f"account {row.account_id} shard {row.slot} is below its floor")

    e_debit, e_credit = e.alias("e_debit"), e.alias("e_credit")
    leg_count = select(func.count()).where(e.c.transfer_id == t.c.id).scalar_subquery()
    broken = (
        await session.execute(
            select(t.c.id).where(
                t.c.tenant_id == tenant_id,
                (leg_count != 2)
                | ~exists().where(
                    and_(
                        e_debit.c.transfer_id == t.c.id,
                        e_debit.c.account_id == t.c.debit_account_id,
                        e_debit.c.amount == -t.c.amount,
                    )
                )
                | ~exists().where(
                    and_(
                        e_credit.c.transfer_id == t.c.id,
                        e_credit.c.account_id == t.c.credit_account_id,
                        e_credit.c.amount == t.c.amount,
                    )
                ),
            )
        )
    ).all()
    for row in broken:
        problem(f"transfer {row.id}: its entries do not match the transfer")

    original = t.alias("original")
    over_reversed = (
        await session.execute(
            select(t.c.id).join(original, original.c.id == t.c.reverses_transfer_id).where(
                t.c.tenant_id == tenant_id, t.c.amount > original.c.amount
            )
        )
    ).all()
    for row in over_reversed:
        problem(f"transfer {row.id} reverses more than the original amount")

    report.transfers = int(
        (await session.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id))).scalar_one()
    )
    await _verify_chain(session, tenant_id=tenant_id, report=report, problem=problem)
    return report


async def _verify_chain(session: AsyncSession, *, tenant_id: int, report: VerifyReport, problem) -> None:  # noqa: ANN001
    prev_hash, expected_seq = GENESIS_HASH, 1
    query = (
        select(seal.c.seq, seal.c.prev_hash, seal.c.hash, t)
        .join(t, t.c.id == seal.c.transfer_id)
        .where(seal.c.tenant_id == tenant_id)
        .order_by(seal.c.seq)
    )
    stream = await session.stream(query.execution_options(yield_per=5000))
    async for row in stream:
        if row.seq != expected_seq:
            problem(f"hash chain: link {expected_seq} is missing (found {row.seq})")
            expected_seq = row.seq
        if row.prev_hash != prev_hash:
            problem(f"hash chain: link {row.seq} does not point at the link before it")
        if link_hash(row.prev_hash, row) != row.hash:
            problem(f"hash chain: transfer {row.id} (link {row.seq}) was altered after it was sealed")
        prev_hash = row.hash
        expected_seq += 1
        report.sealed += 1
    chain_head = (await session.execute(select(head).where(head.c.tenant_id == tenant_id))).first()
    if chain_head is not None and (chain_head.last_hash != prev_hash or chain_head.last_seq != expected_seq - 1):
        problem("hash chain: the chain head does not match the last link")
    if report.sealed != report.transfers:
        problem(f"{UNSEALED_PREFIX}{report.transfers - report.sealed} transfer(s) are not sealed yet")


async def tenant_ids(session: AsyncSession) -> list[tuple[int, str]]:
    rows = (await session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.id))).all()
    return [(row.id, row.slug) for row in rows]
