"""32 earns at once against a campaign budget that covers only some of them (PostgreSQL).

Each request runs on its own pooled connection, so the budget's floor check really races.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.campaigns import campaign_detail, funded_campaign, http_earn
from tests.fixtures.ledger import check_ledger
from tests.fixtures.till import wallet_balance, wallet_qr

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): nothing races there")


async def test_32_concurrent_earns_never_overspend_the_budget(client, world, sessionmaker, app):
    funded = 333  # 32 earns x 20 bonus = 640 wanted
    campaign = await funded_campaign(client, world, funded)
    qrs = [await wallet_qr(sessionmaker, world, app.state.settings, shopper_id=s.id) for s in (world.an, world.bert)]
    responses = await asyncio.gather(*(http_earn(client, world, qrs[i % 2].qr_text, 2000) for i in range(32)))
    assert [r.status_code for r in responses] == [201] * 32, [r.text for r in responses if r.status_code != 201]
    bonuses = [r.json()["bonus_points"] for r in responses]
    assert sum(bonuses) == funded  # everything paid out, not a point more
    assert all(0 <= b <= 20 for b in bonuses)
    detail = await campaign_detail(client, world, campaign["id"])
    assert detail["budget"]["left"] == 0 and detail["budget"]["bonus_paid"] == funded
    assert detail["status"] == "exhausted"
    wallets = [await wallet_balance(sessionmaker, world, w.id) for w in (world.an_wallet, world.bert_wallet)]
    assert sum(w.balance for w in wallets) == 32 * 20 + funded
    await check_ledger(sessionmaker, world.tenant.id)
