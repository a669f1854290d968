"""The refresh-token clean-up: long-expired and long-revoked rows go, in batches; live
sessions and what reuse detection needs stay (a replayed used token still ends its session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.housekeeping import (
    REFRESH_TOKEN_RETENTION,
    delete_stale_refresh_tokens,
    purge_refresh_tokens,
)
from backend.auth.models import RefreshToken
from backend.auth.service import hash_secret
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.jobs import run_once
from tests.fixtures.auth import PASSWORD
from tests.fixtures.databases import backend_params, fresh_database, run_alembic
from tests.fixtures.factories import World
from tests.fixtures.ledger import assert_problem
from tests.test_cli import invoke, scalar, sql

API = "/api/v1/auth"
LONG_AGO = REFRESH_TOKEN_RETENTION + timedelta(days=1)


async def sign_in(client: httpx.AsyncClient, world: World, who: str = "admin") -> dict[str, Any]:
    response = await client.post(
        f"{API}/login", json={"tenant": world.tenant.slug, "email": world.users[who].email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def refresh(client: httpx.AsyncClient, raw: str) -> httpx.Response:
    return await client.post(f"{API}/refresh", json={"refresh_token": raw})


async def row_id(sessionmaker: async_sessionmaker[AsyncSession], raw: str) -> int | None:
    async with sessionmaker() as session:
        found = await session.scalar(select(RefreshToken.id).where(RefreshToken.token_hash == hash_secret(raw)))
        await session.rollback()
    return found


async def backdate(sessionmaker: async_sessionmaker[AsyncSession], raw: str, **values: datetime) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(RefreshToken).where(RefreshToken.token_hash == hash_secret(raw)).values(**values)
        )


async def test_long_dead_rows_go_live_and_recent_ones_stay(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    live = (await sign_in(client, world))["refresh_token"]
    expired_long_ago = (await sign_in(client, world))["refresh_token"]
    await backdate(sessionmaker, expired_long_ago, expires_at=now - LONG_AGO)
    expired_lately = (await sign_in(client, world))["refresh_token"]
    await backdate(sessionmaker, expired_lately, expires_at=now - timedelta(days=2))
    signed_out_long_ago = (await sign_in(client, world))["refresh_token"]
    assert (await client.post(f"{API}/logout", json={"refresh_token": signed_out_long_ago})).status_code == 204
    await backdate(sessionmaker, signed_out_long_ago, revoked_at=now - LONG_AGO)
    signed_out_lately = (await sign_in(client, world))["refresh_token"]
    assert (await client.post(f"{API}/logout", json={"refresh_token": signed_out_lately})).status_code == 204

    assert await purge_refresh_tokens(sessionmaker, now=now) >= 2
    assert await row_id(sessionmaker, expired_long_ago) is None
    assert await row_id(sessionmaker, signed_out_long_ago) is None
    for kept in (live, expired_lately, signed_out_lately):
        assert await row_id(sessionmaker, kept) is not None
    assert (await refresh(client, live)).status_code == 200


async def test_reuse_detection_still_ends_a_copied_session(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A thief refreshed with a copied token; the holder comes back with it afterwards."""
    copied = (await sign_in(client, world, "shopper"))["refresh_token"]
    thief = await refresh(client, copied)
    assert thief.status_code == 200
    thiefs_next = thief.json()["refresh_token"]
    # Used a while ago, and expired lately: within the retention the replay must still bite.
    await backdate(sessionmaker, copied, used_at=utcnow() - LONG_AGO, expires_at=utcnow() - timedelta(days=1))

    await purge_refresh_tokens(sessionmaker, now=utcnow())
    assert await row_id(sessionmaker, copied) is not None
    assert_problem(await refresh(client, copied), 401, "refresh_token_reused")
    assert_problem(await refresh(client, thiefs_next), 401, "refresh_token_reused")


async def test_a_revoked_row_stays_while_its_family_still_has_a_usable_token(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = (await sign_in(client, world))["refresh_token"]
    second = (await refresh(client, first)).json()["refresh_token"]
    # Only the one row says revoked (a successor issued in the very instant of a sign-out).
    await backdate(sessionmaker, first, revoked_at=utcnow() - LONG_AGO)
    await purge_refresh_tokens(sessionmaker, now=utcnow())
    assert await row_id(sessionmaker, first) is not None
    assert (await refresh(client, second)).status_code == 200


async def test_a_used_row_long_past_its_own_expiry_goes_even_in_a_live_session(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = (await sign_in(client, world))["refresh_token"]
    second = (await refresh(client, first)).json()["refresh_token"]
    await backdate(sessionmaker, first, expires_at=utcnow() - LONG_AGO)
    await purge_refresh_tokens(sessionmaker, now=utcnow())
    assert await row_id(sessionmaker, first) is None
    assert_problem(await refresh(client, first), 401, "refresh_token_invalid")
    assert (await refresh(client, second)).status_code == 200


async def test_deleted_in_batches_each_committed_on_its_own(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    stale = [(await sign_in(client, world))["refresh_token"] for _ in range(5)]
    for raw in stale:
        await backdate(sessionmaker, raw, expires_at=now - LONG_AGO)
    async with transaction(sessionmaker) as session:
        assert await delete_stale_refresh_tokens(session, now=now, limit=2) == 2
    assert sum([await row_id(sessionmaker, raw) is None for raw in stale]) == 2
    assert await purge_refresh_tokens(sessionmaker, now=now, batch_size=1, max_batches=1) == 1
    assert sum([await row_id(sessionmaker, raw) is None for raw in stale]) == 3
    assert await purge_refresh_tokens(sessionmaker, now=now, batch_size=1) >= 2
    assert all([await row_id(sessionmaker, raw) is None for raw in stale])


async def test_the_scheduler_runs_it(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    raw = (await sign_in(client, world))["refresh_token"]
    await backdate(sessionmaker, raw, expires_at=utcnow() - LONG_AGO)
    await run_once(sessionmaker, app.state.settings, housekeeping=False)
    assert await row_id(sessionmaker, raw) is not None
    result = await run_once(sessionmaker, app.state.settings)
    assert result["refresh_tokens_deleted"] >= 1
    assert await row_id(sessionmaker, raw) is None


@pytest.fixture(params=backend_params())
def migrated_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        run_alembic(url, "upgrade", "head")
        yield url


def test_the_command_line_purges_too(migrated_db: str) -> None:
    created = invoke(
        migrated_db, "users", "create-admin", "--tenant", "gemeente-x", "--create-tenant",
        "--tenant-name", "X", "--email", "beheer@x.be", "--password", "een lang genoeg wachtwoord",
    )
    assert created.exit_code == 0, created.output
    tenant_id, user_id = sql(migrated_db, "SELECT tenant_id, id FROM user_account")[0]
    insert = (
        "INSERT INTO refresh_token (tenant_id, user_id, family_id, token_hash, expires_at, created_at) "
        "VALUES (:tenant_id, :user_id, :family, :hash, :expires_at, :created_at)"
    )
    now = utcnow().replace(tzinfo=None)  # naive UTC, as both databases take it here
    for name, expires_at in (("old", now - LONG_AGO), ("live", now + timedelta(days=3))):
        sql(migrated_db, insert, tenant_id=tenant_id, user_id=user_id, family=name, hash=name,
            expires_at=expires_at, created_at=now - timedelta(days=60))
    purged = invoke(migrated_db, "jobs", "purge-refresh-tokens")
    assert purged.exit_code == 0, purged.output
    assert "deleted 1 stale refresh token(s)" in purged.output
    assert scalar(migrated_db, "SELECT count(*) FROM refresh_token WHERE family_id = 'live'") == 1
    assert scalar(migrated_db, "SELECT count(*) FROM refresh_token") == 1
    later = invoke(migrated_db, "jobs", "purge-refresh-tokens", "--now", (now + timedelta(days=40)).isoformat())
    assert "deleted 1 stale refresh token(s)" in later.output
    assert invoke(migrated_db, "jobs", "purge-refresh-tokens", "--retention-days", "0").exit_code != 0
