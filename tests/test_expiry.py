"""Points expiry: FIFO lots, one idempotent transfer per wallet and day, Brussels day
boundaries across a month and a year, the 30-day warning sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.expiry.service import run_expiry
from backend.ledger.models import Transfer
from tests.fixtures.ledger import check_ledger
from tests.fixtures.till import set_rules, wallet_balance
from tests.fixtures.wallets import earn, outbox, redeem, sign_up

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


async def _expiry_transfers(sessionmaker, world, wallet_id):
    async with sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(Transfer).where(
                    Transfer.tenant_id == world.tenant.id, Transfer.kind == "expiry", Transfer.debit_account_id == wallet_id
                ).order_by(Transfer.id)
            )
        )
        session.expunge_all()
        await session.rollback()
    return rows


async def _expire(sessionmaker, world, now):
    return await run_expiry(sessionmaker, now=now, tenant_ids=[world.tenant.id])


async def test_spending_uses_the_oldest_points_first_and_only_the_rest_lapses(sessionmaker, world):
    await set_rules(sessionmaker, world.tenant.id, points_expiry_days=365)
    wallet = world.an_wallet.id
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=wallet, points=100, now=T0)
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=wallet, points=50, now=T0 + timedelta(days=100))
    await redeem(sessionmaker, tenant=world.tenant, wallet_id=wallet, redeemed_account=world.bakery_redeemed, points=120, now=T0 + timedelta(days=200))
    # The first lot (100) was spent entirely: nothing lapses when it would have.
    report = await _expire(sessionmaker, world, T0 + timedelta(days=366))
    assert report.points == 0 and await _expiry_transfers(sessionmaker, world, wallet) == []
    # The 30 points left of the second lot lapse after their day.
    report = await _expire(sessionmaker, world, T0 + timedelta(days=466))
    (transfer,) = await _expiry_transfers(sessionmaker, world, wallet)
    assert transfer.amount == 30 and transfer.credit_account_id == world.breakage.id
    assert transfer.idempotency_key == f"expiry:{wallet}:2027-04-20"
    assert (await wallet_balance(sessionmaker, world, wallet)).balance == 0
    await check_ledger(sessionmaker, world.tenant.id)


async def test_running_the_job_twice_changes_nothing(sessionmaker, world):
    await set_rules(sessionmaker, world.tenant.id, points_expiry_days=30)
    wallet = world.an_wallet.id
    for day, points in ((0, 10), (0, 5), (1, 7)):
        await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=wallet, points=points, now=T0 + timedelta(days=day, hours=day))
    now = T0 + timedelta(days=40)
    first = await _expire(sessionmaker, world, now)
    second = await _expire(sessionmaker, world, now)
    third = await _expire(sessionmaker, world, now + timedelta(days=1))
    assert (first.transfers, first.points) == (2, 22)  # one transfer per wallet per day: 15 and 7
    assert second.transfers == third.transfers == 0
    assert [t.amount for t in await _expiry_transfers(sessionmaker, world, wallet)] == [15, 7]
    await check_ledger(sessionmaker, world.tenant.id)


async def test_expiry_across_the_year_and_month_boundary_follows_the_brussels_day(sessionmaker, world):
    await set_rules(sessionmaker, world.tenant.id, points_expiry_days=31)
    wallet = world.an_wallet.id
    # 31 Dec 2026, 23:30 in Brussels (22:30 UTC): valid through 31 Jan 2027, Brussels time.
    earned_at = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=wallet, points=40, now=earned_at)
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=wallet, points=9, now=earned_at + timedelta(hours=2))
    # 31 Jan 23:50 Brussels: still valid.
    assert (await _expire(sessionmaker, world, datetime(2027, 1, 31, 22, 50, tzinfo=UTC))).points == 0
    # 1 Feb 00:10 Brussels (still 31 Jan in UTC): the 40 lapse, in February's books.
    lapsed_at = datetime(2027, 1, 31, 23, 10, tzinfo=UTC)
    assert (await _expire(sessionmaker, world, lapsed_at)).points == 40
    (transfer,) = await _expiry_transfers(sessionmaker, world, wallet)
    assert transfer.idempotency_key == f"expiry:{wallet}:2027-01-31" and transfer.created_at == lapsed_at
    assert transfer.meta["expired_on"] == "2027-01-31"
    # The 9 earned on 1 Jan (Brussels) lapse after 1 Feb.
    assert (await _expire(sessionmaker, world, datetime(2027, 2, 1, 23, 10, tzinfo=UTC))).points == 9
    await check_ledger(sessionmaker, world.tenant.id)


async def test_the_30_day_warning_is_sent_once_in_the_shoppers_language(client, sessionmaker, world):
    await set_rules(sessionmaker, world.tenant.id, points_expiry_days=100)
    shopper = await sign_up(client, sessionmaker, world.tenant, language="fr", first_name="Zoé")
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=shopper.wallet_id, points=75, now=now - timedelta(days=75))
    await earn(sessionmaker, tenant=world.tenant, float_account=world.bakery_float, wallet_id=shopper.wallet_id, points=5, now=now - timedelta(days=10))
    assert (await _expire(sessionmaker, world, now)).notices == 1
    assert (await _expire(sessionmaker, world, now + timedelta(hours=1))).notices == 0
    assert (await _expire(sessionmaker, world, now + timedelta(days=2))).notices == 0
    mails = [m for m in await outbox(sessionmaker, world.tenant.id, to_email=shopper.email) if m.kind == "points_expiring"]
    assert len(mails) == 1
    assert mails[0].subject == "75 points Testgemeente expirent le 26/06/2026" and "Zoé" in mails[0].body_text
    # The points are still there: the warning moves nothing.
    assert (await wallet_balance(sessionmaker, world, shopper.wallet_id)).balance == 80
