"""Failed attempts counted in the database, so every server process sees the same count.

One ``login_throttle`` row per (tenant, subject): sign-in counts ``email:<address>``,
the till counts typed short codes per device or user and per shop
(``backend.till.scan``). A subject that fails ``max_failures`` times within ``window``
is locked for ``lockout``. A failure is written by a ``DurableFailure``'s ``remember``
step, in a transaction of its own after the request's rollback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import LoginThrottle
from backend.core.types import utcnow

SUBJECT_LENGTH = 300


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta


def retry_after(locked_until: datetime, now: datetime) -> int:
    """Whole seconds until the lock ends, at least one (the Retry-After header)."""
    return max(1, math.ceil((locked_until - now).total_seconds()))


def locked_until(*, tenant_id: int, subjects: Sequence[str], now: datetime) -> ScalarSelect[datetime | None]:
    """The latest lock still running among ``subjects`` (NULL when none is), as a scalar
    subquery: a caller can ask it in the same statement as the lookup it guards."""
    return (
        select(func.max(LoginThrottle.locked_until))
        .where(
            LoginThrottle.tenant_id == tenant_id,
            LoginThrottle.subject.in_(subjects),
            LoginThrottle.locked_until > now,
        )
        .scalar_subquery()
    )


async def seconds_locked(
    session: AsyncSession, *, tenant_id: int, subjects: Sequence[str], now: datetime
) -> int | None:
    """Seconds until every lock among ``subjects`` has ended, or None when none is locked."""
    until = await session.scalar(select(locked_until(tenant_id=tenant_id, subjects=subjects, now=now)))
    return None if until is None else retry_after(until, now)


async def _locked_row(session: AsyncSession, *, tenant_id: int, subject: str) -> LoginThrottle | None:
    return await session.scalar(
        select(LoginThrottle)
        .where(LoginThrottle.tenant_id == tenant_id, LoginThrottle.subject == subject)
        .with_for_update()
    )


async def record_failure(
    session: AsyncSession,
    *,
    tenant_id: int,
    subject: str,
    policy: ThrottlePolicy,
    now: datetime | None = None,
) -> LoginThrottle:
    """Count one failure of ``subject``; the ``max_failures``-th within the window locks it."""
    now = now or utcnow()
    subject = subject[:SUBJECT_LENGTH]
    throttle = await _locked_row(session, tenant_id=tenant_id, subject=subject)
    if throttle is None:
        try:
            async with session.begin_nested():
                throttle = LoginThrottle(
                    tenant_id=tenant_id, subject=subject, failures=0, window_started_at=now
                )
                session.add(throttle)
        except IntegrityError:
            # Another failed attempt inserted the row first; count on that one.
            throttle = await _locked_row(session, tenant_id=tenant_id, subject=subject)
            assert throttle is not None
    window_over = throttle.window_started_at + policy.window <= now
    lock_over = throttle.locked_until is not None and throttle.locked_until <= now
    if window_over or lock_over:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= policy.max_failures:
        throttle.locked_until = now + policy.lockout
    await session.flush()
    return throttle
