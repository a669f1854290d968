"""Liveness and readiness probes."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@lru_cache
def migration_heads() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from backend.migrations import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and migrated to head")
async def readyz(request: Request) -> JSONResponse:
    try:
        async with request.app.state.read_engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}, status_code=503
        )
    current = frozenset(row[0] for row in rows)
    expected = migration_heads()
    if current != expected:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migrations": "behind", "current": sorted(current), "head": sorted(expected)},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "head"})
