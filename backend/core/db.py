"""Engine, sessions and the metadata naming convention.

SQLite allows one writer at a time, so every SQLite transaction starts with
``BEGIN IMMEDIATE`` (take the write lock up front, wait up to the busy timeout) rather
than failing halfway with "database is locked". PostgreSQL runs READ COMMITTED: the
ledger's conditional UPDATEs re-check their condition after waiting for a row lock,
which is what keeps a wallet from going below zero under concurrency.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from backend.core.types import NAMING_CONVENTION  # noqa: F401  (applies the convention)

metadata: MetaData = SQLModel.metadata

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _install_sqlite_pragmas(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, sqlite_write_lock: bool = True
) -> AsyncEngine:
    """An engine for ``url``; on SQLite, ``sqlite_write_lock=False`` gives a read-only-use
    engine whose transactions do not take the write lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _install_sqlite_pragmas(engine, immediate=sqlite_write_lock)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max(5, pool_size // 2),
        pool_pre_ping=False,
        isolation_level="READ COMMITTED",
    )


def is_sqlite(engine_or_session: AsyncEngine | AsyncSession) -> bool:
    bind = engine_or_session.bind if isinstance(engine_or_session, AsyncSession) else engine_or_session
    return bind.dialect.name == "sqlite"


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (CLI, jobs, tests): commit or roll back whole."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
