"""One database transaction per request, committed before the response leaves.

Every API route uses ``TransactionalRoute``: it opens the session, runs dependencies and
the endpoint inside it, commits once at the end, and rolls back on any error so a
failed request leaves nothing behind. Services only ``flush()``. When the database
reports a deadlock or serialization failure (or SQLite is still locked after its busy
timeout) the whole request is run again from the start, so such a conflict is never
reported as, say, "insufficient points". A ``DurableFailure`` keeps what it must (a
failed PIN or password attempt) in a transaction of its own after the rollback.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import transaction
from backend.core.errors import DurableFailure, ServiceBusy

logger = logging.getLogger("kernpunt.db")

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
MAX_ATTEMPTS = 8
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    if isinstance(exc, OperationalError) and "database is locked" in str(orig):
        return True
    return False


async def backoff(attempt: int) -> None:
    await asyncio.sleep(min(0.2, 0.002 * (2**attempt)) * (0.5 + random.random()))


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            state = request.app.state
            read_only = request.method in READ_METHODS
            sessionmaker = state.read_sessionmaker if read_only else state.sessionmaker
            for attempt in range(MAX_ATTEMPTS):
                session: AsyncSession = sessionmaker()
                request.state.db = session
                try:
                    response = await handler(request)
                    if response.status_code < 400:
                        await session.commit()
                    else:
                        await session.rollback()
                    return response
                except Exception as exc:
                    await session.rollback()
                    if isinstance(exc, DurableFailure) and exc.remember is not None:
                        # After the rollback: on SQLite the request held the write lock.
                        async with transaction(state.sessionmaker) as side:
                            await exc.remember(side)
                    if is_retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                        logger.info("retrying request after %s (attempt %d)", type(exc).__name__, attempt + 1)
                        await backoff(attempt)
                        continue
                    if is_retryable(exc):
                        raise ServiceBusy("The database stayed busy; nothing was changed, please retry.") from exc
                    raise
                finally:
                    await session.close()
            raise ServiceBusy()  # pragma: no cover - loop always returns or raises

        return run_in_transaction


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened by ``TransactionalRoute``."""
    return request.state.db
