"""``kernpunt ledger`` and ``kernpunt jobs``: seal and verify the ledger, run background jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import (
    CONTEXT_SETTINGS,
    CliError,
    cli,
    load_settings,
    run_with_database,
    tenant_by_slug,
)
from backend.core.db import create_engine, make_sessionmaker, transaction

# --- ledger ------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def ledger() -> None:
    """Ledger integrity: seal the hash chain, verify balances, entries and seals."""


def _tenant_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--tenant", "tenant_slug", metavar="SLUG", help="Only this municipality (default: all).")(func)


async def _selected_tenants(sessionmaker: async_sessionmaker[AsyncSession], slug: str | None) -> list[tuple[int, str]]:
    from backend.ledger.verify import tenant_ids

    async with transaction(sessionmaker) as session:
        if slug is not None:
            tenant = await tenant_by_slug(session, slug)
            return [(tenant.id, tenant.slug)]
        return await tenant_ids(session)


async def _seal(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> int:
    from backend.ledger.chain import seal_all

    async with transaction(sessionmaker) as session:
        return await seal_all(session, tenant_id=tenant_id, full_scan=True)


@ledger.command("seal")
@_tenant_option
def ledger_seal(tenant_slug: str | None) -> None:
    """Append every committed, unsealed transfer to its municipality's hash chain."""
    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
        tenants = await _selected_tenants(sessionmaker, tenant_slug)
        return [(slug, await _seal(sessionmaker, tenant_id)) for tenant_id, slug in tenants]

    for slug, sealed in run_with_database(settings, work):
        click.echo(f"{slug}: sealed {sealed} transfer(s)")


@ledger.command("verify")
@_tenant_option
def ledger_verify(tenant_slug: str | None) -> None:
    """Seal pending transfers, then recompute every balance and check the hash chain.

    Prints one line per municipality and every problem found; exits 1 on any problem.
    """
    from backend.ledger.verify import UNSEALED_PREFIX, VerifyReport, verify_tenant

    settings = load_settings()

    async def verify_one(reader: async_sessionmaker[AsyncSession], tenant_id: int) -> VerifyReport:
        # One snapshot for the whole check: on a live system a transfer committing
        # between two of its queries would otherwise look like a broken balance.
        async with reader() as session:
            if session.bind.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            try:
                return await verify_tenant(session, tenant_id=tenant_id)
            finally:
                await session.rollback()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[VerifyReport]:
        reports = []
        # On SQLite a deferred transaction reads a snapshot without taking the write
        # lock, so the server keeps writing while we check.
        read_engine = create_engine(settings.database_url, sqlite_write_lock=False) if settings.is_sqlite else None
        reader = make_sessionmaker(read_engine) if read_engine is not None else sessionmaker
        try:
            for tenant_id, _slug in await _selected_tenants(sessionmaker, tenant_slug):
                for _attempt in range(3):
                    await _seal(sessionmaker, tenant_id)
                    report = await verify_one(reader, tenant_id)
                    # Transfers committed after our sealing pass are merely new, not
                    # broken: seal again and look once more before calling them a problem.
                    if not report.problems or not all(p.startswith(UNSEALED_PREFIX) for p in report.problems):
                        break
                reports.append(report)
        finally:
            if read_engine is not None:
                await read_engine.dispose()
        return reports

    reports = run_with_database(settings, work)
    if not reports:
        click.echo("No municipalities in the database.")
    for report in reports:
        click.echo(report.summary())
        for problem in report.problems:
            click.echo(f"  PROBLEM: {problem}")
    if any(not report.ok for report in reports):
        raise CliError("the ledger check found problems (listed above)")


# --- jobs --------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def jobs() -> None:
    """Background jobs the server runs by itself (for when the scheduler is off)."""


@jobs.command("run-once")
def jobs_run_once() -> None:
    """Expire overdue till holds, seal new transfers and delete stale tokens, once."""
    from backend.jobs import run_once

    result = run_with_database(load_settings(), run_once)
    click.echo(
        f"expired {result['expired_holds']} hold(s), sealed {result['sealed']} transfer(s), "
        f"deleted {result['refresh_tokens_deleted']} stale refresh token(s)"
    )

