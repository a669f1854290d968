"""``kernpunt jobs expire``: move lapsed points to breakage and queue the 30-day warnings."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import load_settings, parse_now, run_with_database
from backend.cli.ledger import _selected_tenants, jobs


@jobs.command("expire")
@click.option("--now", "now_text", metavar="ISO", help="Pretend it is this moment (ISO 8601; naive is UTC).")
@click.option("--tenant", "tenant_slug", metavar="SLUG", help="Only this municipality (default: all).")
@click.option("--no-notices", is_flag=True, help="Do not queue the 30-day warning e-mails.")
def jobs_expire(now_text: str | None, tenant_slug: str | None, no_notices: bool) -> None:
    """Expire lapsed points (one transfer per wallet and day; running twice changes nothing)."""
    from backend.expiry.service import run_expiry

    now = parse_now(now_text)

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> object:
        tenants = await _selected_tenants(sessionmaker, tenant_slug)
        return await run_expiry(
            sessionmaker, now=now, tenant_ids=[tid for tid, _slug in tenants], notices=not no_notices
        )

    report = run_with_database(load_settings(), work)
    click.echo(
        f"expired {report.points} point(s) in {report.transfers} transfer(s) "  # type: ignore[attr-defined]
        f"from {report.wallets} wallet(s); queued {report.notices} notice(s)"  # type: ignore[attr-defined]
    )
