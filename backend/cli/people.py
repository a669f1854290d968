"""``kernpunt demo``, ``kernpunt tenants`` and ``kernpunt users``: municipalities and people."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import (
    CONTEXT_SETTINGS,
    CliError,
    cli,
    echo_logins,
    load_settings,
    run_with_database,
    tenant_by_slug,
)
from backend.core.db import transaction

# --- demo --------------------------------------------------------------------------------


@cli.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has a municipality.")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed of the generated history.")
@click.option("--shoppers", type=click.IntRange(1, 1_000_000), help="Generate a large town (bulk) with this many shoppers.")
@click.option("--merchants", default=250, show_default=True, type=click.IntRange(8, 10_000), help="Shops of the large town.")
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 36), help="History of the large town.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Large town: the history ends the day before (default today).")
def demo(if_empty: bool, seed: int, shoppers: int | None, merchants: int, months: int, until: Any) -> None:
    """Seed the Sint-Gillis-Waas demo town (shops, shoppers, six weeks of history).

    With --shoppers the town is generated large and in bulk (e.g. --shoppers 20000
    --merchants 250 --months 12), with a progress bar on stderr.
    """
    if shoppers is not None:
        from backend.cli.large_demo import large_demo

        large_demo(if_empty=if_empty, seed=seed, shoppers=shoppers, merchants=merchants, months=months,
                   until=until.date() if until else None)
        return
    from backend.demo.seed import DemoSummary, seed_town
    from backend.demo.town import small_town
    from backend.ledger.chain import seal_all
    from backend.tenants.errors import TenantExists
    from backend.tenants.models import Tenant

    settings = load_settings()
    spec = small_town()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, DemoSummary | None, int]:
        try:
            # The check and the whole town are one transaction: a crash leaves no half town.
            async with transaction(sessionmaker) as session:
                slugs = list((await session.execute(select(Tenant.slug))).scalars())
                if if_empty and slugs:
                    return ("present" if spec.slug in slugs else "other", None, 0)
                if spec.slug in slugs:
                    return ("exists", None, 0)
                summary = await seed_town(session, spec, seed=seed, settings=settings)
        except TenantExists:
            # Another `kernpunt demo` won the race for the slug.
            return ("present" if if_empty else "exists", None, 0)
        async with transaction(sessionmaker) as session:
            sealed = await seal_all(session, tenant_id=summary.tenant_id, full_scan=True)
        return ("seeded", summary, sealed)

    outcome, summary, sealed = run_with_database(settings, work)
    if outcome == "exists":
        raise CliError(
            f"the demo municipality {spec.slug!r} already exists; nothing was changed "
            "(use --if-empty to skip quietly, or a fresh database)"
        )
    if outcome == "other":
        click.echo("The database already has municipalities but not the demo town; nothing was seeded.")
        return
    if outcome == "present":
        click.echo("The database already has a municipality; the demo town was not seeded again.")
        echo_logins()
        return
    assert summary is not None
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.kinds.items()))
    click.echo(
        f"Seeded {summary.name} ({summary.slug}, seed {seed}): {summary.merchants} shops, "
        f"{summary.shoppers} shoppers, {summary.users} sign-ins."
    )
    click.echo(
        f"History {summary.history_start} to {summary.history_end}: {summary.transfers} transfers "
        f"({kinds}), {summary.holds} till holds; {sealed} transfers sealed."
    )
    if summary.campaigns:
        click.echo(f"Campaigns: {', '.join(summary.campaigns)}.")
    echo_logins()


# --- tenants -----------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def tenants() -> None:
    """Municipalities (tenants)."""


@tenants.command("create")
@click.option("--slug", required=True, help="Short name used at sign-in, e.g. sint-gillis-waas.")
@click.option("--name", required=True, help='Display name, e.g. "Gemeente Sint-Gillis-Waas".')
def tenants_create(slug: str, name: str) -> None:
    """Create a municipality and open its ledger accounts."""
    from backend.tenants.service import create_tenant

    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with transaction(sessionmaker) as session:
            tenant = await create_tenant(session, slug=slug, name=name, settings=settings)
            return tenant.id

    tenant_id = run_with_database(settings, work)
    click.echo(f"Created municipality {slug!r} ({name}), id {tenant_id}.")


@tenants.command("list")
def tenants_list() -> None:
    """List the municipalities with their scheme settings and number of users."""
    from backend.auth.models import User
    from backend.tenants.models import Tenant

    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
        users = select(func.count()).where(User.tenant_id == Tenant.id).scalar_subquery()
        async with sessionmaker() as session:
            return list((await session.execute(select(Tenant, users.label("users")).order_by(Tenant.id))).all())

    rows = run_with_database(settings, work)
    if not rows:
        click.echo("No municipalities yet (create one with `kernpunt tenants create` or `kernpunt demo`).")
        return
    for tenant, user_count in rows:
        click.echo(
            f"{tenant.id:>4}  {tenant.slug:<24} {tenant.name:<32} {tenant.points_per_euro} pt/EUR, "
            f"1 pt = {tenant.point_value_cents} ct, {user_count} user(s)"
        )


# --- users -------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def users() -> None:
    """People who sign in."""


@users.command("create-admin")
@click.option("--tenant", "tenant_slug", required=True, metavar="SLUG", help="The municipality's slug.")
@click.option("--email", prompt="E-mail address", help="Sign-in e-mail address.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Sign-in password (asked twice when left out, so it stays out of the shell history).",
)
@click.option(
    "--role",
    type=click.Choice(["municipality_admin", "auditor"]),
    default="municipality_admin",
    show_default=True,
    help="An administrator may change things; an auditor only reads.",
)
@click.option("--display-name", default="", help="Name shown in the apps.")
@click.option("--create-tenant", is_flag=True, help="Create the municipality first when it does not exist.")
@click.option("--tenant-name", metavar="NAME", help="Display name for --create-tenant.")
def users_create_admin(
    tenant_slug: str,
    email: str,
    password: str,
    role: str,
    display_name: str,
    create_tenant: bool,
    tenant_name: str | None,
) -> None:
    """Create a municipality administrator (or auditor) who can sign in."""
    from backend.auth.errors import EmailTaken
    from backend.auth.service import create_user
    from backend.tenants.errors import TenantNotFound
    from backend.tenants.service import create_tenant as create_tenant_service

    if create_tenant and not tenant_name:
        raise click.UsageError("--create-tenant needs --tenant-name.")
    settings = load_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, bool]:
        async with transaction(sessionmaker) as session:
            created = False
            try:
                tenant = await tenant_by_slug(session, tenant_slug)
            except TenantNotFound:
                if not create_tenant:
                    raise CliError(
                        f"there is no municipality {tenant_slug!r}; add --create-tenant --tenant-name NAME "
                        "to create it"
                    ) from None
                tenant = await create_tenant_service(session, slug=tenant_slug, name=tenant_name, settings=settings)
                created = True
            try:
                user = await create_user(
                    session, tenant_id=tenant.id, email=email, password=password, role=role, display_name=display_name
                )
            except EmailTaken:
                raise CliError(f"{email.strip().lower()} already has an account in {tenant_slug!r}") from None
            return user.id, created

    user_id, created = run_with_database(settings, work)
    if created:
        click.echo(f"Created municipality {tenant_slug!r} ({tenant_name}).")
    elif create_tenant:
        click.echo(f"Municipality {tenant_slug!r} already existed; the user was added to it.")
    click.echo(f"Created {role} {email.strip().lower()} (user {user_id}) in {tenant_slug!r}.")

