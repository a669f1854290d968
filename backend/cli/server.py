"""``kernpunt serve`` and ``kernpunt db``: run the web server, migrate the schema."""

from __future__ import annotations

import click
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cli.base import (
    CONTEXT_SETTINGS,
    CliError,
    cli,
    database_problem,
    echo_logins,
    load_settings,
    run_with_database,
    shown_url,
    sqlite_path,
)

# --- serve -------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--reload", is_flag=True, help="Restart when the code changes (development only).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Run the web server (API, web apps, health probes) with uvicorn."""
    import uvicorn

    from backend.config import PROJECT_ROOT
    from backend.core.logging import configure_logging

    if reload and workers > 1:
        raise click.UsageError("--reload runs a single worker; leave out --workers.")
    settings = load_settings()  # a configuration error stops us here, before uvicorn starts
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"Kernpunt ({settings.env}) on http://{shown_host}:{port}  database {shown_url(settings.database_url)}")
    if settings.env == "dev":
        echo_logins()
    # Our middleware writes the access log as JSON; uvicorn's own lines go through the
    # same handler, in the supervisor process as well as in every worker.
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    options = {"access_log": False, "log_config": None, "proxy_headers": True, "server_header": False}
    if workers > 1:
        from backend.server import run_workers

        run_workers(host=host, port=port, workers=workers, uvicorn_options=options)
        return
    uvicorn.run(
        "backend.app:app_factory",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(PROJECT_ROOT / "backend")] if reload else None,
        **options,
    )


# --- db ----------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT_SETTINGS)
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema."""
    from backend.migrations import upgrade

    settings = load_settings()
    path = sqlite_path(settings.database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.database_url, revision)
    except (DBAPIError, OSError) as exc:
        raise CliError(database_problem(exc, settings) or f"migration failed: {exc}") from exc
    current = run_with_database(settings, _current_revisions)
    click.echo(f"Database {shown_url(settings.database_url)} is at revision {', '.join(current) or '(none)'}.")


async def _current_revisions(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
    return sorted(row[0] for row in rows)


@db.command("current")
def db_current() -> None:
    """Show the schema revision; exits 1 when the database is not at the latest one."""
    from alembic.script import ScriptDirectory

    from backend.migrations import alembic_config

    settings = load_settings()
    heads = sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
    current = run_with_database(settings, _current_revisions)
    click.echo(f"current: {', '.join(current) or '(none)'}")
    click.echo(f"head:    {', '.join(heads)}")
    if current != heads:
        raise CliError("the database is not at the latest revision; run `kernpunt db upgrade`")

