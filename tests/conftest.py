"""Shared fixtures: one migrated database per backend per run, one fresh tenant per test.

Every row carries its tenant id and every query is scoped by it, so a test that works
in its own tenant is isolated from the others without truncating append-only tables.
Tests that need a whole database to themselves (migrations, tampering) use
``fresh_database`` from ``tests/fixtures/databases.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.auth import passwords
from backend.config import Settings
from tests.fixtures.auth import CHEAP_HASHER
from tests.fixtures.databases import backend_params, check_postgres_configuration, fresh_database, run_alembic
from tests.fixtures.factories import World, make_world

TEST_JWT_KEYS = {"k1": "test-signing-key-0123456789-abcdefghijklmnop"}


def pytest_sessionstart(session: pytest.Session) -> None:
    check_postgres_configuration()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "jwt_keys": TEST_JWT_KEYS,
        "scheduler_enabled": False,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=backend_params())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        run_alembic(url, "upgrade", "head")
        yield url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest_asyncio.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return app.state.sessionmaker


@pytest_asyncio.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as db:
        yield db
        await db.rollback()


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    # Production-cost argon2 takes ~0.1 s a hash; tests hash hundreds of passwords.
    previous = passwords._hasher
    passwords.set_hasher(CHEAP_HASHER)
    yield
    passwords.set_hasher(previous)


@pytest_asyncio.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient) -> World:
    """A fresh municipality with a funded bakery, a shop, two shoppers and signed-in staff."""
    return await make_world(sessionmaker, client)
