"""The large generated demo town behind ``kernpunt demo --shoppers N``."""

from __future__ import annotations

import sys
import time
from datetime import date

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import CliError, echo_logins, load_settings, run_with_database


def large_demo(*, if_empty: bool, seed: int, shoppers: int, merchants: int, months: int, until: date | None) -> None:
    from backend.demo.large import generate_large_town
    from backend.demo.logins import DEMO_TENANT_SLUG
    from backend.tenants.models import Tenant

    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]):  # noqa: ANN202
        async with sessionmaker() as session:
            slugs = list((await session.execute(select(Tenant.slug))).scalars())
        if slugs:
            return "present" if if_empty else ("exists" if DEMO_TENANT_SLUG in slugs else "other")
        return await generate_large_town(sessionmaker, shoppers=shoppers, merchants=merchants, months=months,
                                         seed=seed, settings=settings, until=until, stream=sys.stderr)

    started = time.monotonic()
    summary = run_with_database(settings, work)
    if summary == "present":
        click.echo("The database already has a municipality; the demo town was not generated again.")
        return
    if isinstance(summary, str):
        # Bulk loading allocates ids itself, so it wants a database of its own.
        raise CliError("the large demo town needs an empty database (run `kernpunt db upgrade` on a new one)")
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.kinds.items()))
    click.echo(f"Generated {summary.slug} (seed {seed}): {summary.merchants} shops, {summary.shoppers} shoppers, "
               f"history {summary.start} to {summary.end}: {summary.transfers} transfers ({kinds}), "
               f"{summary.holds} till holds, all sealed; {time.monotonic() - started:.0f} s.")
    echo_logins()
