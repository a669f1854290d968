"""Balance shards: the conditional updates that keep accounts above their floors.

Each account's cached balance is split over ``shard_count`` rows. A debit first tries
one randomly chosen shard with a single conditional UPDATE (on PostgreSQL READ COMMITTED
re-checks the condition after waiting for the row lock, so two debits can never both
pass on the same points). Only when that shard cannot cover the amount does the slow
path lock every shard of the account, and, if the account as a whole can pay, move the
spare points of the other shards into one shard first ("rebalance"). Shards never
record which entries they hold: only their sum is meaningful, and it always equals the
sum of the account's entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger.accounts import AccountMeta, balance_table
from backend.ledger.errors import InsufficientFunds
from backend.ledger.models import AccountType

b = balance_table

_available_ok = or_(b.c.floor.is_(None), b.c.balance - b.c.pending - bindparam("amount") >= b.c.floor)

_debit_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"), _available_ok)
    .values(balance=b.c.balance - bindparam("amount"))
    .returning(b.c.slot)
)
_credit_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"))
    .values(balance=b.c.balance + bindparam("amount"))
    .returning(b.c.slot)
)
_reserve_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"), _available_ok)
    .values(pending=b.c.pending + bindparam("amount"))
    .returning(b.c.slot)
)
_release_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"))
    .values(pending=b.c.pending - bindparam("amount"))
    .returning(b.c.slot)
)
_settle_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"))
    .values(balance=b.c.balance - bindparam("captured"), pending=b.c.pending - bindparam("held"))
    .returning(b.c.slot)
)
_lock_all_stmt = (
    select(b.c.slot, b.c.balance, b.c.pending, b.c.floor)
    .where(b.c.account_id == bindparam("aid"))
    .order_by(b.c.slot)
    .with_for_update()
)
_set_shard_stmt = (
    update(b)
    .where(b.c.account_id == bindparam("aid"), b.c.slot == bindparam("s"))
    .values(balance=bindparam("new_balance"), floor=bindparam("new_floor"))
)


@dataclass(frozen=True, slots=True)
class Balance:
    account_id: int
    balance: int
    pending: int
    floor: int | None

    @property
    def available(self) -> int:
        return self.balance - self.pending


def pick_slot(meta: AccountMeta) -> int:
    return 0 if meta.shard_count == 1 else random.randrange(meta.shard_count)


def _insufficient(meta: AccountMeta, *, available: int, amount: int) -> InsufficientFunds:
    if meta.type == AccountType.SHOPPER_WALLET:
        detail = f"The wallet has {available} points available; {amount} were asked."
    elif meta.type == AccountType.MERCHANT_FLOAT:
        detail = f"The shop's float has {available} points left; {amount} were asked. Top up the float."
    else:
        detail = f"Account {meta.id} has {available} points available; {amount} were asked."
    return InsufficientFunds(detail, account_id=meta.id, available=available, requested=amount)


async def credit(session: AsyncSession, meta: AccountMeta, amount: int) -> None:
    await session.execute(_credit_stmt, {"aid": meta.id, "s": pick_slot(meta), "amount": amount})


async def debit(session: AsyncSession, meta: AccountMeta, amount: int, *, now: datetime | None = None) -> None:
    slot = pick_slot(meta)
    row = (await session.execute(_debit_stmt, {"aid": meta.id, "s": slot, "amount": amount})).first()
    if row is not None:
        return
    slot = await _make_room(session, meta, amount, now=now)
    row = (await session.execute(_debit_stmt, {"aid": meta.id, "s": slot, "amount": amount})).first()
    if row is None:  # pragma: no cover - _make_room guarantees room under the locks it holds
        raise _insufficient(meta, available=0, amount=amount)


async def reserve(session: AsyncSession, meta: AccountMeta, amount: int, *, now: datetime | None = None) -> int:
    """Move ``amount`` of available points into pending on one shard; returns that shard."""
    slot = pick_slot(meta)
    row = (await session.execute(_reserve_stmt, {"aid": meta.id, "s": slot, "amount": amount})).first()
    if row is not None:
        return slot
    slot = await _make_room(session, meta, amount, now=now)
    row = (await session.execute(_reserve_stmt, {"aid": meta.id, "s": slot, "amount": amount})).first()
    if row is None:  # pragma: no cover
        raise _insufficient(meta, available=0, amount=amount)
    return slot


async def release(session: AsyncSession, *, account_id: int, slot: int, amount: int) -> None:
    await session.execute(_release_stmt, {"aid": account_id, "s": slot, "amount": amount})


async def settle(session: AsyncSession, *, account_id: int, slot: int, held: int, captured: int) -> None:
    """Capture: drop the hold's pending and take the captured part from the balance."""
    await session.execute(_settle_stmt, {"aid": account_id, "s": slot, "held": held, "captured": captured})


async def _make_room(session: AsyncSession, meta: AccountMeta, amount: int, *, now: datetime | None) -> int:
    """Slow path: free expired holds, lock every shard, gather spare points into one."""
    from backend.ledger.holds import expire_overdue_holds_for_account

    await expire_overdue_holds_for_account(session, account_id=meta.id, now=now or utcnow())
    shards = (await session.execute(_lock_all_stmt, {"aid": meta.id})).all()
    if any(shard.floor is None for shard in shards):
        return shards[0].slot  # unbounded account: any shard can pay
    spare = {shard.slot: shard.balance - shard.pending - shard.floor for shard in shards}
    total_spare = sum(spare.values())
    if total_spare < amount:
        total_available = sum(shard.balance - shard.pending for shard in shards)
        raise _insufficient(meta, available=max(total_available, 0), amount=amount)
    target = max(spare, key=lambda slot: spare[slot])
    if spare[target] >= amount and len(shards) == 1:
        return target
    # Spread the spare points evenly so the next debits find room on whichever shard
    # they pick; the target keeps at least ``amount``. Lowering shards first keeps every
    # intermediate row above its floor (the CHECK constraint is checked per row).
    others = [shard for shard in shards if shard.slot != target]
    share = (total_spare - amount) // len(shards)
    wanted = {shard.slot: share for shard in others}
    wanted[target] = total_spare - share * len(others)
    ordered = sorted(shards, key=lambda shard: wanted[shard.slot] - spare[shard.slot])
    for shard in ordered:
        if wanted[shard.slot] == spare[shard.slot]:
            continue
        await session.execute(
            _set_shard_stmt,
            {
                "aid": meta.id,
                "s": shard.slot,
                "new_balance": shard.balance + wanted[shard.slot] - spare[shard.slot],
                "new_floor": shard.floor,
            },
        )
    return target


async def set_floors(session: AsyncSession, *, account_id: int, floors: list[int | None]) -> bool:
    """Give the shards new floors, moving points between shards so each stays above its own.

    Returns False (and changes nothing) when the account as a whole is below the new floors.
    """
    shards = (await session.execute(_lock_all_stmt, {"aid": account_id})).all()
    if any(floor is None for floor in floors):
        for shard, floor in zip(shards, floors, strict=True):
            await session.execute(
                _set_shard_stmt, {"aid": account_id, "s": shard.slot, "new_balance": shard.balance, "new_floor": floor}
            )
        return True
    total_balance = sum(shard.balance for shard in shards)
    total_pending = sum(shard.pending for shard in shards)
    if total_balance - total_pending < sum(floors):  # type: ignore[arg-type]
        return False
    # Every shard but the first keeps exactly its pending plus its floor; the first takes the rest.
    rest = total_balance
    for shard, floor in list(zip(shards, floors, strict=True))[1:]:
        new_balance = shard.pending + floor  # type: ignore[operator]
        rest -= new_balance
        await session.execute(
            _set_shard_stmt, {"aid": account_id, "s": shard.slot, "new_balance": new_balance, "new_floor": floor}
        )
    await session.execute(
        _set_shard_stmt, {"aid": account_id, "s": shards[0].slot, "new_balance": rest, "new_floor": floors[0]}
    )
    return True


_sum_stmt = (
    select(b.c.account_id, b.c.balance, b.c.pending, b.c.floor)
    .where(b.c.account_id.in_(bindparam("ids", expanding=True)), b.c.tenant_id == bindparam("tid"))
)


async def balances(session: AsyncSession, *, tenant_id: int, account_ids: list[int]) -> dict[int, Balance]:
    totals: dict[int, list[int]] = {}
    floors: dict[int, int | None] = {}
    for row in (await session.execute(_sum_stmt, {"ids": account_ids, "tid": tenant_id})).all():
        total = totals.setdefault(row.account_id, [0, 0])
        total[0] += row.balance
        total[1] += row.pending
        if row.floor is None:
            floors[row.account_id] = None
        elif floors.get(row.account_id, 0) is not None:
            floors[row.account_id] = (floors.get(row.account_id) or 0) + row.floor
    return {
        account_id: Balance(account_id=account_id, balance=value[0], pending=value[1], floor=floors.get(account_id))
        for account_id, value in totals.items()
    }


