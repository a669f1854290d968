"""Property-based tests of the ledger services against a small model of the books.

Hypothesis draws whole sequences of operations (transfers of every kind, holds with
short timeouts, full and partial captures, voids, clock jumps, sweeps of overdue holds,
full and partial reversals with new and repeated keys, idempotent replays, flows that
are not allowed, amounts that are not valid). Each example runs in a fresh municipality;
every operation is its own committed transaction, run at a virtual clock ``now`` passed
to the services. After every step:

* the cached balances equal the model (which is the sum of the posted amounts), pending
  equals the open holds, available = balance - live holds at ``now``;
* ``verify_tenant`` (after sealing) finds no problem: cached balances equal the sum of
  entries, the municipality sums to zero, no shard is below its floor, the chain holds;
* wallets never go below zero and floats never below their credit limit;
* an operation the model predicts to be refused raises the predicted error, and a
  snapshot of everything the tenant owns is unchanged by it.

Hypothesis + asyncio: pytest-asyncio runs ``@given`` async tests on the session loop
(it wraps ``hypothesis.inner_test``), so every example shares the session's engine.

The virtual clock starts a day after the real one and only moves forward, so every
transfer, hold and reversal is stamped with it (the sealer is run with ``full_scan``
because the timestamps are not the commit order of a real server).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.core.errors import DomainError, IdempotencyKeyReused
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.errors import (
    AlreadyReversed,
    CannotReverse,
    CaptureExceedsHold,
    FlowNotAllowed,
    HoldAlreadyResolved,
    HoldExpired,
    InsufficientFunds,
    InvalidAmount,
    ReversalExceedsAmount,
)
from backend.ledger.holds import expire_overdue_holds
from backend.ledger.models import AccountType
from tests.fixtures.factories import make_merchant, make_shopper, make_tenant
from tests.fixtures.ledger import check_ledger, snapshot

CREDIT_LIMIT = 300
START_FLOAT = 1500
START_WALLET = 250
START_HOLD = 50

KINDS = ["topup", "budget", "budget_return", "earn", "bonus", "redeem", "payout", "expiry", "forfeit", "wallet_merge"]
# Drawn more often: the flows that fill and empty wallets and floats.
COMMON_KINDS = ["topup", "earn", "earn", "redeem", "redeem", "budget", "bonus", "payout", "expiry"]


# --------------------------------------------------------------------------- the model


@dataclass
class MAccount:
    id: int
    type: AccountType
    floor: int | None  # None: unbounded
    balance: int = 0


@dataclass
class MHold:
    id: int
    wallet: int
    credit: int
    amount: int
    expires_at: datetime
    status: str = "pending"  # as stored: pending / captured / voided / expired


@dataclass
class MTransfer:
    id: int
    kind: str
    debit: int
    credit: int
    amount: int
    key: str
    reversed: bool = False
    replayable: bool = False  # posted by post_transfer with its default fingerprint


@dataclass
class Books:
    tenant_id: int
    accounts: dict[int, MAccount]
    by_type: dict[AccountType, list[int]]
    now: datetime
    holds: list[MHold] = field(default_factory=list)
    transfers: list[MTransfer] = field(default_factory=list)
    reversal_keys: list[tuple[str, int, int | None]] = field(default_factory=list)  # key, transfer id, amount arg

    def pending(self, account_id: int, *, live_at: datetime | None = None) -> int:
        return sum(
            h.amount
            for h in self.holds
            if h.wallet == account_id and h.status == "pending" and (live_at is None or h.expires_at > live_at)
        )

    def overdue(self, account_id: int | None, now: datetime) -> list[MHold]:
        return [
            h
            for h in self.holds
            if h.status == "pending" and h.expires_at <= now and (account_id is None or h.wallet == account_id)
        ]

    def can_take(self, account_id: int, amount: int, *, now: datetime | None) -> tuple[bool, list[MHold]]:
        """Whether a debit/reserve of ``amount`` passes, and which holds it expires on the way.

        Mirrors balances.debit: the fast path checks the stored pending; only when that
        fails does the slow path expire the account's overdue holds (at ``now``) first.
        """
        account = self.accounts[account_id]
        if account.floor is None:
            return True, []
        stored = account.balance - self.pending(account_id)
        if stored - amount >= account.floor:
            return True, []
        freed = self.overdue(account_id, now) if now is not None else []
        if stored + sum(h.amount for h in freed) - amount >= account.floor:
            return True, freed
        return False, []


# --------------------------------------------------------------------------- operations

amounts = st.one_of(st.integers(1, 200), st.integers(1, 200), st.integers(1, 2500))
index = st.integers(0, 63)

transfer_op = st.tuples(
    st.just("transfer"), st.one_of(st.sampled_from(COMMON_KINDS), st.sampled_from(KINDS)), index, index, amounts
)
bad_flow_op = st.tuples(st.just("bad_flow"), st.sampled_from(KINDS), index, index, amounts)
bad_amount_op = st.tuples(st.just("bad_amount"), st.sampled_from([0, -1, -500, 10**12 + 1]))
hold_op = st.tuples(st.just("hold"), index, index, amounts, st.integers(1, 240))
capture_op = st.tuples(st.just("capture"), index, st.one_of(st.none(), st.integers(1, 60), st.integers(1, 400)))
void_op = st.tuples(st.just("void"), index)
advance_op = st.tuples(st.just("advance"), st.integers(1, 300))
sweep_op = st.tuples(st.just("sweep"))
reverse_op = st.tuples(st.just("reverse"), index, st.one_of(st.none(), st.integers(1, 500)))
rereverse_op = st.tuples(st.just("reverse_again"), index, st.booleans())
replay_op = st.tuples(st.just("replay"), index, st.booleans())

operations = st.lists(
    st.one_of(
        transfer_op,
        transfer_op,
        transfer_op,
        hold_op,
        hold_op,
        capture_op,
        capture_op,
        void_op,
        advance_op,
        sweep_op,
        reverse_op,
        rereverse_op,
        replay_op,
        bad_flow_op,
        bad_amount_op,
    ),
    min_size=6,
    max_size=20,
)


async def open_books(sessionmaker: async_sessionmaker[AsyncSession]) -> Books:
    now = utcnow() + timedelta(days=1)
    async with transaction(sessionmaker) as session:
        tenant = await make_tenant(session)
        funding = await ledger.find_account(session, tenant_id=tenant.id, code="funding")
        payouts = await ledger.find_account(session, tenant_id=tenant.id, code="payouts")
        breakage = await ledger.find_account(session, tenant_id=tenant.id, code="breakage")
        _, float_a, redeemed_a = await make_merchant(session, tenant=tenant)
        _, float_b, redeemed_b = await make_merchant(session, tenant=tenant, name="Slager", credit_limit=CREDIT_LIMIT)
        campaign = await ledger.open_account(
            session, tenant_id=tenant.id, account_type=AccountType.CAMPAIGN_BUDGET, name="Campaign", code="campaign:1"
        )
        wallets = [(await make_shopper(session, tenant=tenant, first_name=n))[1] for n in ("An", "Bert", "Chris")]
        start: list[MTransfer] = []
        topup = await ledger.post_transfer(
            session,
            tenant_id=tenant.id,
            idempotency_key=f"start-topup-{float_a.id}",
            kind="topup",
            debit_account_id=funding.id,
            credit_account_id=float_a.id,
            amount=START_FLOAT,
            now=now,
        )
        start.append(MTransfer(topup.id, "topup", funding.id, float_a.id, START_FLOAT, topup.idempotency_key, replayable=True))
        for wallet in wallets:
            earn = await ledger.post_transfer(
                session,
                tenant_id=tenant.id,
                idempotency_key=f"start-earn-{wallet.id}",
                kind="earn",
                debit_account_id=float_a.id,
                credit_account_id=wallet.id,
                amount=START_WALLET,
                now=now,
            )
            start.append(MTransfer(earn.id, "earn", float_a.id, wallet.id, START_WALLET, earn.idempotency_key, replayable=True))
        # One open hold per wallet, running out after 1, 2 and 10 minutes.
        holds: list[MHold] = []
        for wallet, (redeemed, timeout) in zip(
            wallets, [(redeemed_a, 60), (redeemed_b, 120), (redeemed_a, 600)], strict=True
        ):
            hold, _ = await ledger.create_hold(
                session,
                tenant_id=tenant.id,
                idempotency_key=f"start-hold-{wallet.id}",
                kind="redeem",
                debit_account_id=wallet.id,
                credit_account_id=redeemed.id,
                amount=START_HOLD,
                timeout_seconds=timeout,
                now=now,
            )
            holds.append(MHold(hold.id, wallet.id, redeemed.id, START_HOLD, now + timedelta(seconds=timeout)))
    accounts = {
        funding.id: MAccount(funding.id, AccountType.FUNDING, None, -START_FLOAT),
        payouts.id: MAccount(payouts.id, AccountType.PAYOUTS, 0),
        breakage.id: MAccount(breakage.id, AccountType.BREAKAGE, 0),
        float_a.id: MAccount(float_a.id, AccountType.MERCHANT_FLOAT, 0, START_FLOAT - 3 * START_WALLET),
        float_b.id: MAccount(float_b.id, AccountType.MERCHANT_FLOAT, -CREDIT_LIMIT),
        redeemed_a.id: MAccount(redeemed_a.id, AccountType.MERCHANT_REDEEMED, 0),
        redeemed_b.id: MAccount(redeemed_b.id, AccountType.MERCHANT_REDEEMED, 0),
        campaign.id: MAccount(campaign.id, AccountType.CAMPAIGN_BUDGET, 0),
    }
    for wallet in wallets:
        accounts[wallet.id] = MAccount(wallet.id, AccountType.SHOPPER_WALLET, 0, START_WALLET)
    by_type: dict[AccountType, list[int]] = {}
    for account in accounts.values():
        by_type.setdefault(account.type, []).append(account.id)
    for ids in by_type.values():
        ids.sort()
    return Books(tenant_id=tenant.id, accounts=accounts, by_type=by_type, now=now, holds=holds, transfers=start)


def pick(items: list, i: int):  # noqa: ANN001, ANN201
    return items[i % len(items)]


class Expect:
    """What the model predicts for one operation: success, or a specific refusal."""

    def __init__(self, error: type[DomainError] | None = None) -> None:
        self.error = error


async def run_step(sessionmaker: async_sessionmaker[AsyncSession], books: Books, op: tuple) -> str:  # noqa: C901, PLR0912, PLR0915
    """Predict, run and apply one operation; returns a label for the statistics."""
    name = op[0]
    tid = books.tenant_id
    now = books.now

    if name == "advance":
        books.now = now + timedelta(seconds=op[1])
        return "advance"

    if name == "sweep":
        due = books.overdue(None, now)
        async with transaction(sessionmaker) as session:
            assert await expire_overdue_holds(session, now=now, tenant_id=tid) == len(due)
        async with transaction(sessionmaker) as session:  # a second sweep finds nothing
            assert await expire_overdue_holds(session, now=now, tenant_id=tid) == 0
        for hold in due:
            hold.status = "expired"
        return "sweep"

    before = await snapshot(sessionmaker, tid)
    expected: type[DomainError] | None = None
    apply = None  # called after a success, with the service's result
    call = None

    if name in ("transfer", "bad_flow", "bad_amount"):
        if name == "bad_amount":
            kind = "earn"
            debit, credit = books.by_type[AccountType.MERCHANT_FLOAT][0], books.by_type[AccountType.SHOPPER_WALLET][0]
            amount = op[1]
            expected = InvalidAmount
        else:
            kind, i, j, amount = op[1], op[2], op[3], op[4]
            debit_type, credit_type = ledger.FLOWS[kind]
            if name == "bad_flow":
                # Swap the sides: every flow but wallet_merge is then refused.
                debit_type, credit_type = credit_type, debit_type
            debit = pick(books.by_type[debit_type], i)
            credit = pick(books.by_type[credit_type], j)
            if ledger.FLOWS[kind] != (debit_type, credit_type):
                expected = FlowNotAllowed
            elif debit == credit:  # wallet_merge into the same wallet
                expected = FlowNotAllowed
            else:
                ok, freed = books.can_take(debit, amount, now=now)
                if not ok:
                    expected = InsufficientFunds
        key = f"t-{uuid.uuid4().hex}"

        async def call(session: AsyncSession):  # noqa: ANN202
            return await ledger.post_transfer(
                session,
                tenant_id=tid,
                idempotency_key=key,
                kind=kind,
                debit_account_id=debit,
                credit_account_id=credit,
                amount=amount,
                now=now,
            )

        def apply(result) -> None:  # noqa: ANN001
            _ok, freed = books.can_take(debit, amount, now=now)
            for hold in freed:
                hold.status = "expired"
            books.accounts[debit].balance -= amount
            books.accounts[credit].balance += amount
            books.transfers.append(MTransfer(result.id, kind, debit, credit, amount, key, replayable=True))

    elif name == "hold":
        _, i, j, amount, timeout = op
        wallet = pick(books.by_type[AccountType.SHOPPER_WALLET], i)
        redeemed = pick(books.by_type[AccountType.MERCHANT_REDEEMED], j)
        ok, _ = books.can_take(wallet, amount, now=now)
        expected = None if ok else InsufficientFunds
        key = f"h-{uuid.uuid4().hex}"

        async def call(session: AsyncSession):  # noqa: ANN202
            hold, replayed = await ledger.create_hold(
                session,
                tenant_id=tid,
                idempotency_key=key,
                kind="redeem",
                debit_account_id=wallet,
                credit_account_id=redeemed,
                amount=amount,
                timeout_seconds=timeout,
                now=now,
            )
            assert not replayed
            return hold

        def apply(result) -> None:  # noqa: ANN001
            _ok, freed = books.can_take(wallet, amount, now=now)
            for hold in freed:
                hold.status = "expired"
            assert result.status == "pending" and result.amount == amount
            books.holds.append(MHold(result.id, wallet, redeemed, amount, now + timedelta(seconds=timeout)))

    elif name in ("capture", "void"):
        if not books.holds:
            return f"{name}-nothing"
        hold = pick(books.holds, op[1])
        if name == "capture":
            captured = op[2] if op[2] is not None else hold.amount
            if captured > hold.amount:
                expected = CaptureExceedsHold
            elif hold.status == "pending" and hold.expires_at > now:
                expected = None
            elif hold.status in ("pending", "expired"):
                expected = HoldExpired
            else:
                expected = HoldAlreadyResolved
            key = f"c-{uuid.uuid4().hex}"

            async def call(session: AsyncSession):  # noqa: ANN202
                return await ledger.capture_hold(
                    session, tenant_id=tid, hold_id=hold.id, idempotency_key=key, amount=op[2], now=now
                )

            def apply(result) -> None:  # noqa: ANN001
                assert result.amount == captured and result.hold_id == hold.id and result.kind == "redeem"
                hold.status = "captured"
                books.accounts[hold.wallet].balance -= captured
                books.accounts[hold.credit].balance += captured
                books.transfers.append(MTransfer(result.id, "redeem", hold.wallet, hold.credit, captured, key))
        else:
            expected = HoldAlreadyResolved if hold.status == "captured" else None

            async def call(session: AsyncSession):  # noqa: ANN202
                return await ledger.void_hold(session, tenant_id=tid, hold_id=hold.id, now=now)

            def apply(result) -> None:  # noqa: ANN001
                if hold.status == "pending":
                    hold.status = "voided" if hold.expires_at > now else "expired"
                assert result.status == hold.status, (result.status, hold.status)

    elif name in ("reverse", "reverse_again"):
        if name == "reverse":
            if not books.transfers:
                return "reverse-nothing"
            original = pick(books.transfers, op[1])
            amount_arg = op[2]
            key = f"r-{uuid.uuid4().hex}"
            replay = False
        else:
            if not books.reversal_keys:
                return "reverse_again-nothing"
            key, transfer_id, amount_arg = pick(books.reversal_keys, op[1])
            original = next(t for t in books.transfers if t.id == transfer_id)
            replay = True
            if not op[2]:  # the same key for a different request
                amount_arg = (amount_arg or original.amount) + 1
        amount = original.amount if amount_arg is None else amount_arg
        existing = next((k for k in books.reversal_keys if k[0] == key), None)
        if existing is not None:
            expected = None if existing[1:] == (original.id, amount_arg) else IdempotencyKeyReused
        elif original.kind == "reversal":
            expected = CannotReverse
        elif amount > original.amount:
            expected = ReversalExceedsAmount
        elif original.reversed:
            expected = AlreadyReversed
        else:
            ok, _ = books.can_take(original.credit, amount, now=now)
            expected = None if ok else InsufficientFunds

        async def call(session: AsyncSession):  # noqa: ANN202
            return await ledger.reverse_transfer(
                session, tenant_id=tid, transfer_id=original.id, idempotency_key=key, amount=amount_arg, now=now
            )

        def apply(result) -> None:  # noqa: ANN001
            assert result.reverses_transfer_id == original.id and result.amount == amount
            if existing is not None:
                assert result.replayed
                return
            assert not result.replayed
            _ok, freed = books.can_take(original.credit, amount, now=now)
            for hold in freed:
                hold.status = "expired"
            original.reversed = True
            books.accounts[original.credit].balance -= amount
            books.accounts[original.debit].balance += amount
            books.transfers.append(MTransfer(result.id, "reversal", original.credit, original.debit, amount, key))
            books.reversal_keys.append((key, original.id, amount_arg))

        name = f"{name}{'-replay' if replay else ''}"

    elif name == "replay":
        replayable = [t for t in books.transfers if t.replayable]
        if not replayable:
            return "replay-nothing"
        original = pick(replayable, op[1])
        same = op[2]
        expected = None if same else IdempotencyKeyReused

        async def call(session: AsyncSession):  # noqa: ANN202
            return await ledger.post_transfer(
                session,
                tenant_id=tid,
                idempotency_key=original.key,
                kind=original.kind,
                debit_account_id=original.debit,
                credit_account_id=original.credit,
                amount=original.amount if same else original.amount + 1,
                now=now,
            )

        def apply(result) -> None:  # noqa: ANN001
            assert result.replayed and result.id == original.id and result.amount == original.amount

    else:  # pragma: no cover
        raise AssertionError(op)

    assert call is not None and apply is not None
    if expected is None:
        async with transaction(sessionmaker) as session:
            result = await call(session)
        apply(result)
        label = f"{name}-ok"
    else:
        with pytest.raises(expected):
            async with transaction(sessionmaker) as session:
                await call(session)
        assert await snapshot(sessionmaker, tid) == before, f"refused {op} changed the ledger"
        label = f"{name}-{expected.code}"
    return label


async def check_against_model(sessionmaker: async_sessionmaker[AsyncSession], books: Books) -> None:
    await check_ledger(sessionmaker, books.tenant_id, now=books.now)
    async with sessionmaker() as session:
        try:
            seen = await ledger.get_balances(
                session, tenant_id=books.tenant_id, account_ids=list(books.accounts), now=books.now
            )
            stored = await ledger._balances.balances(
                session, tenant_id=books.tenant_id, account_ids=list(books.accounts)
            )
        finally:
            await session.rollback()
    for account_id, account in books.accounts.items():
        assert seen[account_id].balance == account.balance, (account, seen[account_id])
        assert stored[account_id].pending == books.pending(account_id), (account, stored[account_id])
        live = books.pending(account_id, live_at=books.now)
        assert seen[account_id].pending == live, (account, seen[account_id])
        assert seen[account_id].available == account.balance - live
        if account.floor is not None:
            assert account.balance - books.pending(account_id) >= account.floor
    assert sum(a.balance for a in books.accounts.values()) == 0


@settings(
    # Modest by default (the whole file runs in seconds); raise it to hunt for bugs.
    max_examples=int(os.environ.get("KERNPUNT_LEDGER_EXAMPLES", "25")),
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain": it re-runs failures under a tracer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(ops=operations)
async def test_random_operation_sequences_keep_every_invariant(sessionmaker, ops):
    books = await open_books(sessionmaker)
    await check_against_model(sessionmaker, books)
    for op in ops:
        event(await run_step(sessionmaker, books, op))
        await check_against_model(sessionmaker, books)
