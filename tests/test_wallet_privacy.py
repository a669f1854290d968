"""GET /me/export and DELETE /me: a copy of everything, and erasure with forfeit."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import EmailToken
from backend.cards.models import Card, CardBatch
from backend.core.db import transaction
from backend.ledger import service as ledger
from backend.ledger.models import Entry, Hold, Transfer
from backend.wallets.models import Shopper
from tests.fixtures.auth import PASSWORD
from tests.fixtures.factories import World
from tests.fixtures.ledger import assert_problem, check_ledger, snapshot
from tests.fixtures.wallets import (
    API,
    SignedUp,
    earn,
    hold,
    outbox,
    redeem,
    sign_up,
    tenant_rows,
    user_row,
)


async def _card_for(sessionmaker: async_sessionmaker[AsyncSession], shopper: SignedUp) -> int:
    async with transaction(sessionmaker) as session:
        batch = CardBatch(tenant_id=shopper.tenant.id, size=1)
        session.add(batch)
        await session.flush()
        card = Card(
            tenant_id=shopper.tenant.id,
            batch_id=batch.id,
            number=f"{shopper.shopper_id:013d}",
            shopper_id=shopper.shopper_id,
            pin_hash="x",
        )
        session.add(card)
        await session.flush()
        return card.id  # type: ignore[return-value]


async def test_export_is_a_json_download_of_everything_without_secrets(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant, first_name="Mira", postcode="9170")
    common = {"tenant": world.tenant, "wallet_id": shopper.wallet_id}
    await earn(sessionmaker, float_account=world.bakery_float, points=80, **common)
    await redeem(sessionmaker, redeemed_account=world.shop_redeemed, points=30, **common)
    await _card_for(sessionmaker, shopper)

    response = await client.get(f"{API}/me/export", headers=shopper.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    data = response.json()
    assert data["profile"]["email"] == shopper.email
    assert (data["profile"]["first_name"], data["profile"]["postcode"]) == ("Mira", "9170")
    assert data["consent"]["version"] and data["consent"]["accepted_at"]
    assert data["wallet"]["balance"] == 50
    assert [(h["kind"], h["points"]) for h in data["history"]] == [("redeem", -30), ("earn", 80)]
    assert [c["number"] for c in data["cards"]] == [f"{shopper.shopper_id:013d}"]
    assert len(data["sessions"]) == 1 and data["sessions"][0]["revoked_at"] is None
    assert [m["kind"] for m in data["emails"]] == ["verify_email"]
    text = response.text
    user = await user_row(sessionmaker, shopper.user_id)
    assert user.password_hash not in text and "argon2" not in text
    assert "pin_hash" not in text and "token_hash" not in text
    assert shopper.refresh_token not in text


async def test_delete_forfeits_points_erases_the_person_and_keeps_the_ledger(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    common = {"tenant": world.tenant, "wallet_id": shopper.wallet_id}
    await earn(sessionmaker, float_account=world.bakery_float, points=120, **common)
    await redeem(sessionmaker, redeemed_account=world.shop_redeemed, points=20, **common)
    open_hold = await hold(sessionmaker, redeemed_account=world.shop_redeemed, points=30, **common)
    card_id = await _card_for(sessionmaker, shopper)
    async with sessionmaker() as session:
        entries_before = await session.scalar(
            select(func.count()).select_from(Entry).where(Entry.account_id == shopper.wallet_id)
        )

    response = await client.request(
        "DELETE", f"{API}/me", headers=shopper.headers, json={"password": PASSWORD, "confirm": True}
    )
    assert response.status_code == 204, response.text

    async with sessionmaker() as session:
        forfeits = list(
            await session.scalars(
                select(Transfer).where(
                    Transfer.tenant_id == world.tenant.id, Transfer.kind == "forfeit"
                )
            )
        )
        balances = await ledger.get_balances(
            session, tenant_id=world.tenant.id, account_ids=[shopper.wallet_id, world.breakage.id]
        )
        entries_after = await session.scalar(
            select(func.count()).select_from(Entry).where(Entry.account_id == shopper.wallet_id)
        )
        row = await session.get(Shopper, shopper.shopper_id)
        the_hold = await session.get(Hold, open_hold)
        card = await session.get(Card, card_id)
        tokens = await session.scalar(
            select(func.count())
            .select_from(EmailToken)
            .where(EmailToken.user_id == shopper.user_id)
        )
    assert [(t.debit_account_id, t.credit_account_id, t.amount) for t in forfeits] == [
        (shopper.wallet_id, world.breakage.id, 100)
    ]
    assert balances[shopper.wallet_id].balance == 0 and balances[shopper.wallet_id].pending == 0
    assert balances[world.breakage.id].balance == 100
    assert entries_after == entries_before + 1  # history kept, one forfeit added
    assert the_hold is not None and the_hold.status == "voided"
    assert card is not None and card.blocked_at is not None
    assert tokens == 0
    await check_ledger(sessionmaker, world.tenant.id)

    assert row is not None and row.deleted_at is not None
    assert (row.first_name, row.postcode, row.village) == ("", None, None)
    user = await user_row(sessionmaker, shopper.user_id)
    assert user.email == f"deleted-{shopper.user_id}@invalid"
    assert (user.display_name, user.is_active, user.email_verified_at) == ("", False, None)
    assert user.password_hash.startswith("!")
    mails = await outbox(sessionmaker, world.tenant.id)
    assert shopper.email not in {m.to_email for m in mails}
    assert all(m.body_text == "" for m in mails if m.to_email == user.email)
    assert {m.status for m in mails if m.to_email == user.email} == {"cancelled"}

    # Signed out everywhere; the still-valid access token finds a closed account.
    login = await client.post(
        f"{API}/auth/login",
        json={"tenant": world.tenant.slug, "email": shopper.email, "password": PASSWORD},
    )
    assert_problem(login, 401, "invalid_credentials")
    assert_problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": shopper.refresh_token}), 401
    )
    for path in ("/me/wallet", "/me/history", "/me/profile", "/me/export"):
        assert_problem(
            await client.get(f"{API}{path}", headers=shopper.headers), 401, "account_closed"
        )
    # The address is free again for a new account.
    await sign_up(client, sessionmaker, world.tenant, email=shopper.email)

    # Idempotent: asking again changes nothing.
    before = await snapshot(sessionmaker, world.tenant.id)
    again = await client.request(
        "DELETE", f"{API}/me", headers=shopper.headers, json={"password": PASSWORD, "confirm": True}
    )
    assert again.status_code == 204
    assert await snapshot(sessionmaker, world.tenant.id) == before


async def test_delete_of_an_empty_wallet_posts_no_transfer(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    before = await snapshot(sessionmaker, world.tenant.id)
    response = await client.request(
        "DELETE", f"{API}/me", headers=shopper.headers, json={"password": PASSWORD, "confirm": True}
    )
    assert response.status_code == 204
    assert (await snapshot(sessionmaker, world.tenant.id)).transfers == before.transfers


async def test_delete_needs_confirmation_and_the_password_and_changes_nothing_otherwise(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    await earn(
        sessionmaker,
        tenant=world.tenant,
        float_account=world.bakery_float,
        wallet_id=shopper.wallet_id,
        points=9,
    )
    before = (
        await snapshot(sessionmaker, world.tenant.id),
        await tenant_rows(sessionmaker, world.tenant.id),
    )
    for body, status, code in (
        ({"password": PASSWORD}, 422, "confirmation_required"),
        ({"password": PASSWORD, "confirm": False}, 422, "confirmation_required"),
        ({"password": "wrong password!", "confirm": True}, 403, "password_incorrect"),
        ({"confirm": True}, 422, "validation_error"),
        ({"password": PASSWORD, "confirm": True, "why": "x"}, 422, "validation_error"),
    ):
        response = await client.request("DELETE", f"{API}/me", headers=shopper.headers, json=body)
        assert_problem(response, status, code)
    assert (
        await snapshot(sessionmaker, world.tenant.id),
        await tenant_rows(sessionmaker, world.tenant.id),
    ) == before
    assert (await client.get(f"{API}/me/wallet", headers=shopper.headers)).json()["balance"] == 9
    # Other roles cannot delete "their" wallet here.
    for who in ("admin", "cashier"):
        response = await client.request(
            "DELETE",
            f"{API}/me",
            headers=world.headers(who),
            json={"password": PASSWORD, "confirm": True},
        )
        assert_problem(response, 403, "forbidden")
