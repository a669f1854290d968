"""Alembic environment: runs migrations on the async engine of the configured database.

The URL comes from ``-x url=...``, the ``sqlalchemy.url`` set by the caller (the CLI and
tests), or ``KERNPUNT_DATABASE_URL`` through the settings, in that order.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Column
from sqlalchemy.engine import Connection

import backend.models  # noqa: F401  (registers every table)
from backend.config import get_settings
from backend.core.db import create_engine, metadata
from backend.core.types import UTCDateTime

config = context.config


def _database_url() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    return x_args.get("url") or config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from backend.core.types import UTCDateTime")  # type: ignore[attr-defined]
        return "UTCDateTime()"
    return False


def _compare_type(ctx, inspected_column, metadata_column, inspected_type, metadata_type):  # noqa: ANN001
    if isinstance(metadata_type, UTCDateTime):
        # The decorator is a DateTime(timezone=True) underneath; compare that.
        return ctx.impl.compare_type(inspected_column, Column(metadata_column.name, metadata_type.impl))
    return None


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=_compare_type,
        render_item=_render_item,
        transaction_per_migration=False,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run_sync(existing)
        return
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
