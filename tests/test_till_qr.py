"""The wallet QR: issued by /me/qr, rendered as SVG, decoded by a camera, earned with."""

from __future__ import annotations

from datetime import timedelta

from backend.core.types import utcnow
from backend.till import tokens as till_tokens
from backend.till.codes import normalise_short_code
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import (
    API,
    decode_image,
    decode_png,
    keyed,
    rasterise_segno_svg,
    render_png,
    shopper_of,
    wallet_balance,
    wallet_qr,
    writes,
)


async def test_me_qr_round_trip_through_a_camera_decoder_earns_points(
    client, world, sessionmaker, app
):
    response = await client.post(f"{API}/me/qr", json={}, headers=world.headers("shopper"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["qr_text"].startswith("KPW1:")
    assert len(body["qr_text"]) < 250  # small enough for a low QR version with large modules
    assert normalise_short_code(body["short_code"]) is not None and body["short_code"][4] == "-"
    assert 0 < body["refresh_in_seconds"] < 60
    svg = body["qr_svg"]
    assert svg.startswith("<svg") and "<title>" in svg and body["short_code"] in svg

    # The server's own SVG, rasterised, and a PNG of its qr_text at the server's settings.
    from_svg = decode_image(rasterise_segno_svg(svg))
    from_png = decode_png(
        render_png(
            body["qr_text"],
            scale=till_tokens.QR_SCALE,
            border=till_tokens.QR_BORDER,
            error=till_tokens.QR_ERROR,
        )
    )
    assert from_svg == [body["qr_text"]]
    assert from_png == [body["qr_text"]]

    earned = await client.post(
        f"{API}/till/earns",
        json={"scan": from_svg[0], "purchase_cents": 2599},
        headers=keyed(world),
    )
    assert earned.status_code == 201, earned.text
    assert earned.json()["points"] == 25  # floor(2599 * 1 / 100)
    shopper_id = await shopper_of(sessionmaker, world)
    async with sessionmaker() as session:
        from backend.ledger.service import find_account

        wallet_id = (
            await find_account(
                session, tenant_id=world.tenant.id, code=f"shopper:{shopper_id}:wallet"
            )
        ).id
        await session.rollback()
    assert (await wallet_balance(sessionmaker, world, wallet_id)).balance == 25


async def test_short_code_typed_in_any_case_with_or_without_dash_and_confusable_letters(
    client, world, sessionmaker, app
):
    settings = app.state.settings
    issued = await wallet_qr(sessionmaker, world, settings)
    raw = issued.row.short_code
    # What a cashier might type: lower case, no dash, O for 0 and l for 1.
    typed = raw.lower().replace("0", "o").replace("1", "l")
    for scan, cents in ((issued.short_code, 100), (typed, 200), (f" {raw[:4]} {raw[4:]} ", 300)):
        response = await client.post(
            f"{API}/till/earns", json={"scan": scan, "purchase_cents": cents}, headers=keyed(world)
        )
        assert response.status_code == 201, (scan, response.text)
        assert response.json()["shopper_display"] == "An"
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 6


async def test_qr_needs_a_shopper(client, world):
    for who in ("cashier", "owner", "admin"):
        assert_problem(await client.post(f"{API}/me/qr", json={}, headers=world.headers(who)), 403)
    assert_problem(await client.post(f"{API}/me/qr", json={}), 401)


async def test_expired_tampered_foreign_and_garbage_scans_write_nothing(
    client, world, sessionmaker, app
):
    settings = app.state.settings
    old = await wallet_qr(sessionmaker, world, settings, now=utcnow() - timedelta(minutes=5))
    fresh = await wallet_qr(sessionmaker, world, settings)
    from backend.core.db import transaction
    from tests.fixtures.factories import make_shopper, make_tenant

    async with transaction(sessionmaker) as session:
        other = await make_tenant(session)
        stranger, _ = await make_shopper(session, tenant=other)
    foreign = await wallet_qr(sessionmaker, world, settings, tenant=other, shopper_id=stranger.id)

    header, payload, signature = fresh.qr_text[5:].split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sid"] = world.bert.id
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unknown_kid = (
        till_tokens.WALLET_PREFIX
        + "eyJhbGciOiJIUzI1NiIsImtpZCI6Inh4In0."
        + payload
        + "."
        + signature
    )
    cases = [
        (old.qr_text, 409, "token_expired"),
        (old.short_code, 409, "token_expired"),
        (foreign.qr_text, 422, "token_foreign"),
        (f"KPW1:{header}.{payload}.{flipped}", 422, "token_tampered"),
        (f"KPW1:{header}.{forged_payload}.{signature}", 422, "token_tampered"),
        (unknown_kid, 422, "token_tampered"),
        ("KPW1:not-a-token", 422, "token_tampered"),
        ("hello world", 422, "scan_unreadable"),
        ("ZZZZ-ZZZZ", 422, "scan_unreadable"),
        ("KPK1:whatever", 422, "scan_unreadable"),
        ("KPC1:12", 422, "scan_unreadable"),
    ]
    before = await writes(sessionmaker, world.tenant.id)
    for scan, status, code in cases:
        for path, body in (
            ("/till/earns", {"scan": scan, "purchase_cents": 1000}),
            ("/till/redemptions", {"scan": scan, "points": 1}),
            ("/till/identify", {"scan": scan, "purpose": "spend"}),
        ):
            assert_problem(
                await client.post(f"{API}{path}", json=body, headers=keyed(world)), status, code
            )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_old_wallet_tokens_are_cleaned_up_and_then_read_as_expired(
    client, world, sessionmaker, app
):
    from backend.core.db import transaction
    from backend.till.tokens import delete_expired_wallet_tokens

    settings = app.state.settings
    old = await wallet_qr(sessionmaker, world, settings, now=utcnow() - timedelta(hours=3))
    fresh = await wallet_qr(sessionmaker, world, settings)
    async with transaction(sessionmaker) as session:
        assert await delete_expired_wallet_tokens(session) >= 1
    assert_problem(
        await client.post(
            f"{API}/till/identify", json={"scan": old.qr_text}, headers=world.headers("cashier")
        ),
        409,
        "token_expired",
    )
    assert_problem(
        await client.post(
            f"{API}/till/identify", json={"scan": old.short_code}, headers=world.headers("cashier")
        ),
        422,
        "scan_unreadable",
    )
    assert (
        await client.post(
            f"{API}/till/identify",
            json={"scan": fresh.short_code},
            headers=world.headers("cashier"),
        )
    ).status_code == 200
