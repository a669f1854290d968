"""The rollup equals a full recomputation; the bulk demo town passes the ledger's own checks."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from sqlalchemy import select

from backend.campaigns.models import Campaign
from backend.core.db import transaction
from backend.demo.large import generate_large_town
from backend.ledger.models import Transfer
from backend.ledger.verify import verify_tenant
from backend.reports.rollup import check
from tests.conftest import make_settings
from tests.reports_data import add_shopper, earn, new_town, random_stream


async def test_rollup_equals_recomputation_after_a_random_stream(world, sessionmaker) -> None:
    await random_stream(sessionmaker, world.tenant, seed=7, people=4, steps=80, start=datetime(2026, 3, 1, 8),
                        minutes_apart=397)
    async with sessionmaker() as session:
        report = await check(session, tenant_id=world.tenant.id)
        assert report.ok, report.differences
        assert report.rows > 10


async def test_check_finds_a_tampered_rollup(world, sessionmaker) -> None:
    from sqlalchemy import update

    from backend.reports.models import ReportActivity

    async with transaction(sessionmaker) as session:
        town = await new_town(session, world.tenant)
        await add_shopper(session, town, "T", "Meerdonk", "2026-01-01T09:00")
        await earn(session, town, "T", "Bakkerij", "2026-03-03T10:00", 1234)
    async with transaction(sessionmaker) as session:
        await session.execute(update(ReportActivity).where(ReportActivity.tenant_id == world.tenant.id)
                              .values(cents=ReportActivity.cents + 1))
    async with sessionmaker() as session:
        report = await check(session, tenant_id=world.tenant.id)
    assert not report.ok and "1235" in report.differences[0] and "1234" in report.differences[0]


async def _fingerprint(sessionmaker, tenant_id: int) -> list[tuple]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Transfer.idempotency_key, Transfer.kind, Transfer.amount, Transfer.created_at)
            .where(Transfer.tenant_id == tenant_id).order_by(Transfer.id))
        campaigns = list(await session.scalars(select(Campaign.id).where(Campaign.tenant_id == tenant_id)
                                               .order_by(Campaign.id)))
    # Campaign keys carry the campaign's id (as the engine's do), which differs per town.
    rank = {str(campaign_id): str(i) for i, campaign_id in enumerate(campaigns)}
    return [(re.sub(r"(?<=campaign:)\d+|(?<=:bonus:)\d+", lambda m: rank[m.group()], key), *rest)
            for key, *rest in rows]


async def test_bulk_demo_town_verifies_and_is_deterministic(sessionmaker, database_url) -> None:
    settings = make_settings(database_url)
    towns = []
    for _ in range(2):
        slug = f"groot-{uuid.uuid4().hex[:8]}"
        towns.append(await generate_large_town(sessionmaker, shoppers=60, merchants=12, months=2, seed=3,
                                               settings=settings, until=date(2026, 1, 10), stream=None, slug=slug))
    first, second = towns
    assert first.kinds == second.kinds
    assert first.kinds["earn"] > 100 and first.kinds["redeem"] > 0 and first.kinds["bonus"] > 0
    assert await _fingerprint(sessionmaker, first.tenant_id) == await _fingerprint(sessionmaker, second.tenant_id)
    for town in towns:
        async with sessionmaker() as session:
            report = await verify_tenant(session, tenant_id=town.tenant_id)
            assert report.ok, report.problems
            assert report.sealed == report.transfers == town.transfers
            rollup = await check(session, tenant_id=town.tenant_id)
            assert rollup.ok, rollup.differences
