"""``kernpunt jobs purge-refresh-tokens``: delete refresh tokens nobody can use any more."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import load_settings, parse_now, run_with_database
from backend.cli.ledger import jobs


@jobs.command("purge-refresh-tokens")
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep rows this many days after expiry or revocation (default: 30).",
)
@click.option("--now", "now_text", metavar="ISO", help="Pretend it is this moment (ISO 8601; naive is UTC).")
def jobs_purge_refresh_tokens(retention_days: int | None, now_text: str | None) -> None:
    """Delete long-expired and long-revoked refresh tokens, in short batches.

    Used tokens of a session still in use are kept until long after their expiry: a
    replayed one is what ends a session somebody copied.
    """
    from backend.auth.housekeeping import REFRESH_TOKEN_RETENTION, purge_refresh_tokens

    now = parse_now(now_text)
    retention = timedelta(days=retention_days) if retention_days else REFRESH_TOKEN_RETENTION

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        total = 0
        # Batches of a run stop at a cap so the scheduler's run stays short; here, go on.
        while deleted := await purge_refresh_tokens(sessionmaker, now=now, retention=retention):
            total += deleted
        return total

    deleted = run_with_database(load_settings(), work)
    click.echo(f"deleted {deleted} stale refresh token(s)")
