"""A generated month settles to the point; closing is final; late corrections; SEPA payouts."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import httpx
import xmlschema
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.core.errors import DomainError
from backend.ledger import service as ledger
from backend.ledger.models import Account, AccountBalance, AccountType, Transfer
from backend.merchants.models import Merchant
from tests.fixtures.factories import World, make_shopper, make_world, new_key
from tests.fixtures.ledger import assert_problem, check_ledger

API = "/api/v1/settlement"
BRUSSELS = ZoneInfo("Europe/Brussels")
PAIN_XSD = resources.files("sepaxml") / "schemas" / "pain.001.001.03.xsd"


def past_months(now: datetime) -> tuple[tuple[int, int], tuple[int, int]]:
    """The month before last and last month, both over."""
    local = now.astimezone(BRUSSELS)
    last = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    before = (last[0], last[1] - 1) if last[1] > 1 else (last[0] - 1, 12)
    return before, last


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=BRUSSELS).astimezone(UTC)


@dataclass
class Expected:
    figures: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    posted: list[tuple[str, int, int | None, int]] = field(default_factory=list)  # kind, transfer id, merchant, points


async def generate_month(
    sessionmaker: async_sessionmaker[AsyncSession], world: World, year: int, month: int, seed: int
) -> Expected:
    rng = random.Random(seed)
    tid = world.tenant.id
    start = month_start(year, month)
    expected = Expected()
    async with transaction(sessionmaker) as session:
        budget = await ledger.open_account(
            session, tenant_id=tid, account_type=AccountType.CAMPAIGN_BUDGET, name="Campagne", code="campaign:month"
        )
        await ledger.post_transfer(
            session, tenant_id=tid, idempotency_key=new_key("budget"), kind="budget",
            debit_account_id=world.funding.id, credit_account_id=budget.id, amount=50_000, now=start + timedelta(hours=1),
        )
        for merchant_float in (world.bakery_float, world.shop_float):
            await ledger.post_transfer(
                session, tenant_id=tid, idempotency_key=new_key("topup"), kind="topup",
                debit_account_id=world.funding.id, credit_account_id=merchant_float.id, amount=40_000,
                now=start + timedelta(hours=2),
            )
        wallets = [world.an_wallet.id, world.bert_wallet.id]
        for name in ("Chris", "Dana", "Els"):
            wallets.append((await make_shopper(session, tenant=world.tenant, first_name=name))[1].id)
    merchants = {
        world.bakery.id: (world.bakery_float.id, world.bakery_redeemed.id),
        world.shop.id: (world.shop_float.id, world.shop_redeemed.id),
    }
    moments = sorted(start + timedelta(hours=3, minutes=rng.randrange(26 * 24 * 60)) for _ in range(120))
    reversible: list[tuple[int, str, int | None, int]] = []
    for moment in moments:
        op = rng.choices(["earn", "bonus", "redeem", "reverse"], weights=[5, 2, 4, 1])[0]
        merchant_id = rng.choice(list(merchants))
        float_id, redeemed_id = merchants[merchant_id]
        wallet = rng.choice(wallets)
        try:
            async with transaction(sessionmaker) as session:
                if op == "earn":
                    points = rng.randint(1, 400)
                    t = await ledger.post_transfer(
                        session, tenant_id=tid, idempotency_key=new_key("earn"), kind="earn",
                        debit_account_id=float_id, credit_account_id=wallet, amount=points,
                        meta={"merchant_id": merchant_id, "purchase_cents": points * 100}, now=moment,
                    )
                    figure, owner = "issued", merchant_id
                elif op == "bonus":
                    points = rng.randint(1, 80)
                    owner = merchant_id if rng.random() < 0.8 else None  # else a welcome bonus
                    t = await ledger.post_transfer(
                        session, tenant_id=tid, idempotency_key=new_key("bonus"), kind="bonus",
                        debit_account_id=budget.id, credit_account_id=wallet, amount=points,
                        meta={"merchant_id": owner} if owner else {}, now=moment,
                    )
                    figure = "bonus"
                elif op == "redeem":
                    points = rng.randint(1, 300)
                    t = await ledger.post_transfer(
                        session, tenant_id=tid, idempotency_key=new_key("redeem"), kind="redeem",
                        debit_account_id=wallet, credit_account_id=redeemed_id, amount=points, now=moment,
                    )
                    figure, owner = "redeemed", merchant_id
                else:
                    if not reversible:
                        continue
                    original_id, figure, owner, original_points = reversible.pop(rng.randrange(len(reversible)))
                    points = rng.randint(1, original_points)
                    t = await ledger.reverse_transfer(
                        session, tenant_id=tid, transfer_id=original_id, idempotency_key=new_key("rev"),
                        amount=points, now=moment,
                    )
                    if owner is not None:
                        expected.figures[owner][figure + "_reversed"] += points
                    continue
        except DomainError:
            continue  # not enough points in that wallet: the ledger refused, nothing happened
        reversible.append((t.id, figure, owner, points))
        if owner is not None:
            expected.figures[owner][figure] += points
    return expected


async def balances_by_type(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> dict[str, int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Account.type, func.sum(AccountBalance.balance))
            .join(Account, Account.id == AccountBalance.account_id)
            .where(Account.tenant_id == tenant_id)
            .group_by(Account.type)
        )
        return {row[0]: int(row[1]) for row in rows.all()}


async def account_balance(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int, account_id: int) -> int:
    async with sessionmaker() as session:
        return (await ledger.get_balance(session, tenant_id=tenant_id, account_id=account_id)).balance


async def test_a_generated_month_settles_to_the_point_and_stays_closed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await make_world(sessionmaker, client, float_points=0)
    tid = world.tenant.id
    (y1, m1), (y2, m2) = past_months(datetime.now(UTC))
    expected = await generate_month(sessionmaker, world, y1, m1, seed=tid)
    async with transaction(sessionmaker) as session:
        await session.execute(update(Merchant).where(Merchant.id == world.bakery.id).values(iban="BE71 0961 2345 6769"))
        await session.execute(
            update(Merchant).where(Merchant.id == world.shop.id).values(iban="BE62510007547061", language="fr")
        )
    admin = world.headers("admin")

    closed = await client.post(f"{API}/periods", json={"year": y1, "month": m1}, headers=admin)
    assert closed.status_code == 201, closed.text
    body = closed.json()
    period = body["period"]
    statements = {s["merchant_id"]: s for s in body["statements"]}
    assert set(statements) == {world.bakery.id, world.shop.id}

    ledger_by_type = await balances_by_type(sessionmaker, tid)
    for merchant_id, (float_account, redeemed_account) in {
        world.bakery.id: (world.bakery_float, world.bakery_redeemed),
        world.shop.id: (world.shop_float, world.shop_redeemed),
    }.items():
        s, want = statements[merchant_id], expected.figures[merchant_id]
        assert s["points_issued"] == want["issued"] and s["issued_reversed"] == want["issued_reversed"]
        assert s["bonus_points"] == want["bonus"] and s["bonus_reversed"] == want["bonus_reversed"]
        assert s["points_redeemed"] == want["redeemed"] and s["redeemed_reversed"] == want["redeemed_reversed"]
        assert s["float_topups"] == 40_000 and s["float_opening"] == 0 and s["owed_opening"] == 0
        assert s["float_closing"] == await account_balance(sessionmaker, tid, float_account.id)
        assert s["owed_closing"] == await account_balance(sessionmaker, tid, redeemed_account.id)
        assert s["net_amount_cents"] == (want["redeemed"] - want["redeemed_reversed"]) * s["point_value_cents"]
        assert s["owed_closing_cents"] == s["owed_closing"] * s["point_value_cents"]
    # The merchants' positions plus the municipality's equal the ledger, to the point.
    positions = period["totals"]["positions"]
    merchants_total = sum(s["float_closing"] + s["owed_closing"] for s in statements.values())
    municipality = sum(positions[k] for k in ("funding", "campaign_budgets", "wallets", "payouts", "breakage"))
    assert merchants_total + municipality == 0 == sum(ledger_by_type.values())
    assert positions["floats"] == ledger_by_type["merchant_float"] == sum(s["float_closing"] for s in statements.values())
    assert positions["owed_to_merchants"] == ledger_by_type["merchant_redeemed"]
    assert positions["wallets"] == ledger_by_type["shopper_wallet"]
    assert positions["campaign_budgets"] == ledger_by_type["campaign_budget"]
    movements = period["totals"]["movements"]
    attributed_bonus = sum(s["bonus_points"] for s in statements.values())
    assert movements.get("bonus", 0) >= attributed_bonus
    liability = (await client.get(f"{API}/liability", headers=world.headers("auditor"))).json()
    assert liability["outstanding_points"] == positions["wallets"] == period["totals"]["liability_points"]
    assert liability["consistent"] is True and liability["entries_points"] == liability["outstanding_points"]
    assert liability["outstanding_cents"] == liability["outstanding_points"] * world.tenant.point_value_cents

    # Statements as files: totals first, then every line; the same bytes every time.
    bakery_statement = statements[world.bakery.id]
    csv_1 = await client.get(f"{API}/statements/{bakery_statement['id']}.csv", headers=admin)
    pdf_1 = await client.get(f"{API}/statements/{bakery_statement['id']}.pdf", headers=admin)
    assert csv_1.status_code == pdf_1.status_code == 200
    assert pdf_1.content.startswith(b"%PDF") and pdf_1.headers["content-type"] == "application/pdf"
    rows = list(csv.reader(io.StringIO(csv_1.text)))
    totals = {row[0]: row[1] for row in rows[: rows.index([])]}
    assert int(totals["points_issued"]) == bakery_statement["points_issued"]
    assert len(rows) - rows.index([]) - 2 == bakery_statement["line_count"]

    # Re-closing is idempotent and final.
    again = await client.post(f"{API}/periods", json={"year": y1, "month": m1}, headers=admin)
    assert again.status_code == 200 and again.content == closed.content
    assert (await client.get(f"{API}/statements/{bakery_statement['id']}.pdf", headers=admin)).content == pdf_1.content

    # A late correction, back-dated into the closed month, lands in the next period.
    async with sessionmaker() as session:
        reversed_ids = set(
            (await session.execute(
                select(Transfer.reverses_transfer_id).where(
                    Transfer.tenant_id == tid, Transfer.reverses_transfer_id.is_not(None)
                )
            )).scalars()
        )
        redeems = (await session.execute(
            select(Transfer).where(
                Transfer.tenant_id == tid, Transfer.kind == "redeem", Transfer.credit_account_id == world.bakery_redeemed.id
            ).order_by(Transfer.id)
        )).scalars()
        redeem = next(t for t in redeems if t.id not in reversed_ids)
    late_moment = month_start(y1, m1) + timedelta(days=20)
    async with transaction(sessionmaker) as session:
        await ledger.reverse_transfer(
            session, tenant_id=tid, transfer_id=redeem.id, idempotency_key=new_key("late"), now=late_moment
        )
    assert (await client.post(f"{API}/periods", json={"year": y1, "month": m1}, headers=admin)).content == closed.content
    second = await client.post(f"{API}/periods", json={"year": y2, "month": m2}, headers=admin)
    assert second.status_code == 201, second.text
    later = {s["merchant_id"]: s for s in second.json()["statements"]}
    assert later[world.bakery.id]["redeemed_reversed"] == redeem.amount
    assert later[world.bakery.id]["owed_opening"] == bakery_statement["owed_closing"]
    assert later[world.bakery.id]["owed_closing"] == bakery_statement["owed_closing"] - redeem.amount
    assert later[world.bakery.id]["owed_closing"] == await account_balance(sessionmaker, tid, world.bakery_redeemed.id)
    assert later[world.shop.id]["line_count"] == 0  # nothing new, carried over for its open balances

    # Payouts come from the latest closed period, as a schema-valid SEPA file.
    first_id, second_id = period["id"], second.json()["period"]["id"]
    assert_problem(await client.post(f"{API}/periods/{second_id}/payouts", headers=admin), 409, "municipality_bank_account_missing")
    account = await client.put(f"{API}/bank-account", json={"iban": "BE68 5390 0754 7034", "bic": "GKCCBEBB"}, headers=admin)
    assert account.status_code == 200 and account.json()["iban"] == "BE68539007547034"
    assert_problem(await client.post(f"{API}/periods/{first_id}/payouts", headers=admin), 409, "period_out_of_order")
    run = await client.post(f"{API}/periods/{second_id}/payouts", headers=admin)
    assert run.status_code == 201, run.text
    batch = run.json()
    owed = {m: s["owed_closing"] for m, s in later.items() if s["owed_closing"] > 0}
    assert {p["merchant_id"]: p["points"] for p in batch["payouts"]} == owed
    assert batch["total_cents"] == sum(owed.values()) * world.tenant.point_value_cents
    assert (await client.post(f"{API}/periods/{second_id}/payouts", headers=admin)).json() == batch
    xml = await client.get(f"{API}/periods/{second_id}/sepa.xml", headers=world.headers("auditor"))
    assert xml.status_code == 200
    schema = xmlschema.XMLSchema(str(PAIN_XSD))
    schema.validate(xml.text)
    decoded = schema.to_dict(xml.text)
    info = decoded["CstmrCdtTrfInitn"]["PmtInf"][0]
    assert info["DbtrAcct"]["Id"]["IBAN"] == "BE68539007547034"
    assert sorted(tx["CdtrAcct"]["Id"]["IBAN"] for tx in info["CdtTrfTxInf"]) == sorted(
        {world.bakery.id: "BE71096123456769", world.shop.id: "BE62510007547061"}[m] for m in owed
    )

    confirmed = await client.post(f"{API}/periods/{second_id}/payouts/confirm", headers=admin)
    assert confirmed.status_code == 200, confirmed.text
    assert {p["status"] for p in confirmed.json()["payouts"]} == {"paid"}
    for redeemed_account in (world.bakery_redeemed, world.shop_redeemed):
        assert await account_balance(sessionmaker, tid, redeemed_account.id) == 0
    async with sessionmaker() as session:
        payouts_before = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.tenant_id == tid, Transfer.kind == "payout")
        )
    assert (await client.post(f"{API}/periods/{second_id}/payouts/confirm", headers=admin)).json() == confirmed.json()
    async with sessionmaker() as session:
        assert payouts_before == await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.tenant_id == tid, Transfer.kind == "payout")
        )
    await check_ledger(sessionmaker, tid)
