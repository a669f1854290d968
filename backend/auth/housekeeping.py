"""Deleting refresh-token rows nobody can use any more (a background job).

Every sign-in and every refresh writes a row, and rows were never deleted. Reuse
detection (``service.rotate_refresh_token``) needs the *used* rows: presenting a used
token ends its whole session (family), which is how a copied token is caught when its
rightful holder comes back with it. So a row goes only when that can no longer matter:

- Its own expiry is more than ``retention`` ago. Whatever its state, the token is
  worthless to anyone holding it; its holder had its whole lifetime plus the retention
  to present it. Used rows of a session still in use are kept that long too.
- It was revoked more than ``retention`` ago and nothing in its family is still
  usable. Sign-out, a password change and a detected reuse revoke the whole family at
  once; the check on the family only guards a successor issued in the same instant.

Work goes in batches of ``batch_size`` rows, each its own short transaction, so the job
never holds many row locks (or, on SQLite, the write lock) for long; a run stops after
``max_batches`` and the next run carries on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Delete, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from backend.auth.models import RefreshToken
from backend.core.db import transaction
from backend.core.types import utcnow

REFRESH_TOKEN_RETENTION = timedelta(days=30)
BATCH_SIZE = 1000
MAX_BATCHES = 100

_token = RefreshToken.__table__


def _expired_batch(*, cutoff: datetime, limit: int) -> Delete:
    old = (
        select(_token.c.id)
        .where(_token.c.expires_at < cutoff)
        .order_by(_token.c.expires_at)
        .limit(limit)
    )
    return delete(_token).where(_token.c.id.in_(old.scalar_subquery()))


def _revoked_batch(*, cutoff: datetime, now: datetime, limit: int) -> Delete:
    sibling = aliased(_token)
    usable = exists().where(
        sibling.c.family_id == _token.c.family_id,
        sibling.c.used_at.is_(None),
        sibling.c.revoked_at.is_(None),
        sibling.c.expires_at > now,
    )
    old = (
        select(_token.c.id)
        .where(_token.c.revoked_at < cutoff, ~usable)
        .order_by(_token.c.revoked_at)
        .limit(limit)
    )
    return delete(_token).where(_token.c.id.in_(old.scalar_subquery()))


async def delete_stale_refresh_tokens(
    session: AsyncSession,
    *,
    now: datetime,
    retention: timedelta = REFRESH_TOKEN_RETENTION,
    limit: int = BATCH_SIZE,
) -> int:
    """One batch: up to ``limit`` long-expired rows, else up to ``limit`` long-revoked ones."""
    cutoff = now - retention
    deleted = (await session.execute(_expired_batch(cutoff=cutoff, limit=limit))).rowcount or 0
    if deleted < limit:
        revoked = _revoked_batch(cutoff=cutoff, now=now, limit=limit - deleted)
        deleted += (await session.execute(revoked)).rowcount or 0
    return deleted


async def purge_refresh_tokens(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    retention: timedelta = REFRESH_TOKEN_RETENTION,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Delete stale rows batch by batch, each batch committed on its own; the count deleted."""
    now = now or utcnow()
    total = 0
    for _ in range(max_batches):
        async with transaction(sessionmaker) as session:
            deleted = await delete_stale_refresh_tokens(
                session, now=now, retention=retention, limit=batch_size
            )
        total += deleted
        if deleted < batch_size:
            break
    return total
