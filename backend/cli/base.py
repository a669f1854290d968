"""Shared machinery of the ``kernpunt`` command: the root group, settings, database runs.

Each command reads the settings when it runs (not at import, so ``--help`` works with
any environment), opens its own engine, and does one transaction per unit of work.
Expected failures (a domain error, a configuration error, a database that is missing
or not migrated) print one line and exit 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import ConfigurationError, Settings
from backend.core.db import create_engine, make_sessionmaker
from backend.core.errors import DomainError
from backend.demo.logins import DEMO_LOGINS, DEMO_TENANT_SLUG

T = TypeVar("T")

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CliError(click.ClickException):
    """A one-line failure message, exit code 1."""


def parse_now(now_text: str | None) -> datetime:
    """A ``--now`` option: ISO 8601, UTC when it names no zone; the current time when not given."""
    from backend.core.types import utcnow

    try:
        now = datetime.fromisoformat(now_text) if now_text else utcnow()
    except ValueError as exc:
        raise CliError(f"--now {now_text!r} is not an ISO 8601 date/time") from exc
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


class KernpuntGroup(click.Group):
    """Turns the expected kinds of failure into one-line messages (see module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise CliError(exc.detail) from exc
        except ConfigurationError as exc:
            raise CliError(f"configuration: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"KERNPUNT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise CliError(f"configuration: {problems}") from exc


def load_settings() -> Settings:
    """Fresh settings from the environment (not the cached ones: tests change the env)."""
    return Settings()


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def database_problem(exc: BaseException, settings: Settings) -> str | None:
    """A one-line explanation of a database failure the operator can fix, else None."""
    orig = getattr(exc, "orig", None) or exc
    message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    lowered = message.lower()
    where = shown_url(settings.database_url)
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database at {where} is not migrated ({message}); run `kernpunt db upgrade`"
    if "database" in lowered and "does not exist" in lowered:
        return f"there is no database at {where} ({message}); create it, then run `kernpunt db upgrade`"
    if isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return f"cannot reach the database at {where}: {message}"
    return None


def run_with_database(
    settings: Settings,
    work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]],
    *,
    must_exist: bool = True,
) -> T:
    """Run ``work`` with a sessionmaker on the configured database, in a fresh event loop."""
    path = sqlite_path(settings.database_url)
    if must_exist and path is not None and not path.exists():
        raise CliError(f"there is no database at {path}; run `kernpunt db upgrade` first")

    async def main() -> T:
        engine = create_engine(settings.database_url, pool_size=2, echo=settings.database_echo)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (DBAPIError, OSError) as exc:
        problem = database_problem(exc, settings)
        if problem is None:
            raise
        raise CliError(problem) from exc


def echo_logins(*, title: str = "Demo sign-ins") -> None:
    click.echo(f"{title} (municipality {DEMO_TENANT_SLUG!r}):")
    width = max(len(login.label_en) for login in DEMO_LOGINS)
    for login in DEMO_LOGINS:
        click.echo(f"  {login.label_en:<{width}}  {login.email:<32}  {login.password}")


async def tenant_by_slug(session: AsyncSession, slug: str) -> Any:
    from backend.tenants.service import get_tenant_by_slug

    return await get_tenant_by_slug(session, slug=slug)


@click.group(cls=KernpuntGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="kernpunt", prog_name="kernpunt")
def cli() -> None:
    """Kernpunt: municipality-wide savings points.

    Settings come from KERNPUNT_* environment variables (see README); the database is
    KERNPUNT_DATABASE_URL (SQLite in ./var by default).
    """

