"""The outbox: queued in the caller's transaction, delivered once (SMTP or log), retried
with a cap, and readable by the municipality's administrators."""

from __future__ import annotations

import asyncio
import email
import logging
import string
from email import policy

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.core.db import transaction
from backend.jobs import run_once
from backend.notifications import texts
from backend.notifications.delivery import deliver_pending
from backend.notifications.service import MAX_ATTEMPTS, queue_email
from tests.fixtures.factories import World
from tests.fixtures.ledger import assert_problem
from tests.fixtures.wallets import API, SmtpSink, new_tenant, outbox


def smtp_settings(app: FastAPI, sink: SmtpSink | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port if sink else 9,
        "smtp_starttls": False,
        "smtp_from": "Kernpunt <noreply@kernpunt.test>",
    }
    values.update(overrides)
    return app.state.settings.model_copy(update=values)


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int, count: int = 1, **fields: str
) -> None:
    async with transaction(sessionmaker) as session:
        for n in range(count):
            await queue_email(
                session,
                tenant_id=tenant_id,
                to_email=fields.get("to_email", f"person{n}-t{tenant_id}@example.be"),
                subject=fields.get("subject", f"Bericht {n}"),
                body_text=fields.get("body_text", f"Inhoud {n}"),
                kind=fields.get("kind", "test"),
            )


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, limit: int = 1000
) -> None:
    while await deliver_pending(sessionmaker, settings=settings, limit=limit):
        pass


async def test_queue_is_part_of_the_callers_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await new_tenant(sessionmaker)
    async with sessionmaker() as session:
        await queue_email(
            session,
            tenant_id=tenant.id,
            to_email="a@example.be",
            subject="s",
            body_text="b",
            kind="k",
        )
        await session.rollback()
    assert await outbox(sessionmaker, tenant.id) == []
    await queue(sessionmaker, tenant.id, subject="Two\r\nBcc: evil@example.be lines")
    (message,) = await outbox(sessionmaker, tenant.id)
    assert message.status == "pending" and message.subject == "Two Bcc: evil@example.be lines"


async def test_without_smtp_messages_are_logged_once(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(sessionmaker, tenant.id, count=2, body_text="Hallo daar")
    settings = app.state.settings
    assert settings.smtp_host is None
    with caplog.at_level(logging.INFO, logger="kernpunt.outbox"):
        await drain(sessionmaker, settings)
        await drain(sessionmaker, settings)
    messages = await outbox(sessionmaker, tenant.id)
    assert [(m.status, m.attempts) for m in messages] == [("logged", 1), ("logged", 1)]
    assert all(m.sent_at is not None for m in messages)
    logged = [r.getMessage() for r in caplog.records if f"#{messages[0].id} " in r.getMessage()]
    assert len(logged) == 1 and "Hallo daar" in logged[0]


async def test_smtp_delivers_a_real_message(
    app: FastAPI, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(
        sessionmaker,
        tenant.id,
        to_email="zoe@example.be",
        subject="Confirmez votre adresse e-mail pour Sint-Gillis-Waas",
        body_text="Bonjour Zoë,\n.leading dot line\nÀ bientôt\n",
    )
    async with SmtpSink() as sink:
        await drain(
            sessionmaker, smtp_settings(app, sink, smtp_username="mailer", smtp_password="s3cret")
        )
    (message,) = await outbox(sessionmaker, tenant.id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    assert sink.logins and set(sink.logins) == {("mailer", "s3cret")}
    mine = [m for m in sink.received if m.recipients == ["zoe@example.be"]]
    assert len(mine) == 1
    parsed = email.message_from_bytes(mine[0].data, policy=policy.default)
    assert mine[0].mail_from == "noreply@kernpunt.test"
    assert parsed["Subject"] == "Confirmez votre adresse e-mail pour Sint-Gillis-Waas"
    assert parsed["To"] == "zoe@example.be"
    # On the wire lines end in CRLF.
    assert (
        parsed.get_content().replace("\r\n", "\n") == "Bonjour Zoë,\n.leading dot line\nÀ bientôt\n"
    )


async def test_failures_are_retried_up_to_the_cap_and_do_not_block_others(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(sessionmaker, tenant.id, to_email=f"gone-{tenant.id}@example.be")
    await queue(sessionmaker, tenant.id, to_email=f"here-{tenant.id}@example.be")
    async with SmtpSink(reject={f"gone-{tenant.id}@example.be"}) as sink:
        settings = smtp_settings(app, sink)
        assert await deliver_pending(sessionmaker, settings=settings, limit=1000) >= 1
        gone, here = await outbox(sessionmaker, tenant.id)
        assert (gone.status, gone.attempts) == ("pending", 1) and "550" in (gone.last_error or "")
        assert (here.status, here.attempts) == ("sent", 1)
        for _ in range(MAX_ATTEMPTS + 2):
            await deliver_pending(sessionmaker, settings=settings, limit=1000)
    gone, here = await outbox(sessionmaker, tenant.id)
    assert (gone.status, gone.attempts) == ("failed", MAX_ATTEMPTS)
    assert [m.recipients for m in sink.received].count([here.to_email]) == 1
    assert [m.recipients for m in sink.received].count([gone.to_email]) == 0


async def test_unreachable_server_or_missing_starttls_leaves_messages_pending(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(sessionmaker, tenant.id)
    # Nothing listens on the discard port of localhost.
    await deliver_pending(sessionmaker, settings=smtp_settings(app, None, smtp_port=9), limit=1000)
    (message,) = await outbox(sessionmaker, tenant.id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error and message.last_error.startswith("connect:")
    async with SmtpSink() as sink:
        # The server offers no STARTTLS; we must not fall back to plain text.
        await deliver_pending(
            sessionmaker, settings=smtp_settings(app, sink, smtp_starttls=True), limit=1000
        )
    (message,) = await outbox(sessionmaker, tenant.id)
    assert (message.status, message.attempts) == ("pending", 2)
    assert "STARTTLS" in (message.last_error or "")
    assert all(m.recipients != [message.to_email] for m in sink.received)


async def test_two_deliverers_at_once_send_each_message_exactly_once(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(sessionmaker, tenant.id, count=40)
    async with SmtpSink() as sink:
        settings = smtp_settings(app, sink)
        await asyncio.gather(*(drain(sessionmaker, settings, limit=7) for _ in range(2)))
    messages = await outbox(sessionmaker, tenant.id)
    assert {(m.status, m.attempts) for m in messages} == {("sent", 1)}
    received = [m.recipients[0] for m in sink.received]
    for message in messages:
        assert received.count(message.to_email) == 1, message.to_email


async def test_run_once_delivers_the_outbox(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await queue(sessionmaker, tenant.id, count=3)
    result = await run_once(sessionmaker, app.state.settings)
    assert result["emails"] >= 3
    assert {m.status for m in await outbox(sessionmaker, tenant.id)} == {"logged"}


# --------------------------------------------------------------------------- GET /outbox


async def test_admins_read_their_own_municipalitys_outbox(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    foreign = await new_tenant(sessionmaker)
    await queue(sessionmaker, world.tenant.id, count=3)
    await queue(sessionmaker, foreign.id, to_email="foreign@example.be")
    response = await client.get(f"{API}/outbox", headers=world.headers("admin"))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["to_email"] for i in items] == [
        f"person{n}-t{world.tenant.id}@example.be" for n in (2, 1, 0)
    ]
    assert items[0]["body_text"] == "Inhoud 2" and items[0]["status"] == "pending"

    page = (
        await client.get(f"{API}/outbox", headers=world.headers("admin"), params={"limit": 2})
    ).json()
    rest = (
        await client.get(
            f"{API}/outbox",
            headers=world.headers("admin"),
            params={"limit": 2, "cursor": page["next_cursor"]},
        )
    ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in items]
    assert rest["next_cursor"] is None
    filtered = await client.get(
        f"{API}/outbox", headers=world.headers("admin"), params={"status": "sent"}
    )
    assert filtered.json()["items"] == []

    for who in ("auditor", "owner", "cashier", "shopper"):
        assert_problem(
            await client.get(f"{API}/outbox", headers=world.headers(who)), 403, "forbidden"
        )
    assert_problem(await client.get(f"{API}/outbox"), 401)
    assert_problem(
        await client.get(
            f"{API}/outbox", headers=world.headers("admin"), params={"status": "bogus"}
        ),
        422,
        "validation_error",
    )


# --------------------------------------------------------------------------- texts


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    for kind, by_language in texts.TEXTS.items():
        assert set(by_language) == set(texts.LANGUAGES), kind
        reference = by_language[texts.DEFAULT_LANGUAGE]
        for language, text in by_language.items():
            assert _fields(text.subject) == _fields(reference.subject), (kind, language)
            assert _fields(text.body) == _fields(reference.body), (kind, language)


def test_unknown_language_falls_back_to_dutch() -> None:
    text = texts.render("verify_email", "de", scheme="X", first_name="", link="L", valid_days=7)
    assert text.subject == "Bevestig je e-mailadres voor X" and "Hallo spaarder" in text.body
