"""``kernpunt reports check``: the reports rollup against a full recomputation from the ledger."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import CONTEXT_SETTINGS, CliError, cli, load_settings, run_with_database, tenant_by_slug


@cli.group(context_settings=CONTEXT_SETTINGS)
def reports() -> None:
    """The municipality dashboard's data."""


@reports.command("check")
@click.option("--tenant", "tenant_slug", metavar="SLUG", help="One municipality (default: all).")
@click.option("--repair", is_flag=True, help="Replace a differing rollup by the recomputation.")
def reports_check(tenant_slug: str | None, repair: bool) -> None:
    """Compare the dashboard rollup with a recomputation from the transfers."""
    from backend.core.db import transaction
    from backend.ledger.verify import tenant_ids
    from backend.reports.rollup import check, rebuild

    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, object]]:
        async with sessionmaker() as session:
            if tenant_slug:
                tenant = await tenant_by_slug(session, tenant_slug)
                targets = [(tenant.id, tenant.slug)]
            else:
                targets = await tenant_ids(session)
        results = []
        for tenant_id, slug in targets:
            async with sessionmaker() as session:
                report = await check(session, tenant_id=tenant_id)
            if not report.ok and repair:
                async with transaction(sessionmaker) as session:
                    await rebuild(session, tenant_id=tenant_id)
            results.append((slug, report))
        return results

    failed = False
    for slug, report in run_with_database(settings, work):
        status = "OK" if report.ok else f"{len(report.differences)}+ DIFFERENCE(S)" + (" (repaired)" if repair else "")
        click.echo(f"{slug}: {status} - {report.rows} rollup rows")
        for line in report.differences:
            click.echo(f"  {line}")
        failed = failed or (not report.ok and not repair)
    if failed:
        raise CliError("the reports rollup differs from the ledger (run with --repair to rebuild it)")
