"""Background jobs inside the server: sealing the hash chain, expiring holds, deleting
stale wallet and refresh tokens.

Each run is its own short transaction. Several workers may run them at once: the chain
head row lock and the conditional hold updates make concurrent runs harmless, and a
row two workers both try to delete is simply gone for the second.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings, get_settings
from backend.core.db import transaction
from backend.core.routing import backoff, is_retryable
from backend.ledger.chain import seal_pending
from backend.ledger.holds import expire_overdue_holds
from backend.ledger.verify import tenant_ids
from backend.notifications.delivery import deliver_pending

logger = logging.getLogger("kernpunt.jobs")


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    *,
    full_scan: bool = False,
    housekeeping: bool = True,
) -> dict[str, int]:
    """One round of every job. ``full_scan`` makes the sealer look at the whole ledger
    instead of a window behind its newest link (for transfers stamped long ago);
    ``housekeeping`` deletes stale refresh tokens (the scheduler does so now and then)."""
    sealed = expired = 0
    async with transaction(sessionmaker) as session:
        tenants = await tenant_ids(session)
    async with transaction(sessionmaker) as session:
        from backend.till.tokens import delete_expired_wallet_tokens

        await delete_expired_wallet_tokens(session)
    for tenant_id, _slug in tenants:
        for attempt in range(5):
            try:
                async with transaction(sessionmaker) as session:
                    expired += await expire_overdue_holds(session, tenant_id=tenant_id)
                async with transaction(sessionmaker) as session:
                    sealed += await seal_pending(session, tenant_id=tenant_id, full_scan=full_scan)
                break
            except Exception as exc:
                if is_retryable(exc):
                    await backoff(attempt)
                    continue
                raise
    refresh_tokens = 0
    if housekeeping:
        from backend.auth.housekeeping import purge_refresh_tokens

        refresh_tokens = await purge_refresh_tokens(sessionmaker)
    settings = settings or get_settings()
    expired_points = await _expiry_step(sessionmaker, settings)
    # Mail goes out last: a failing SMTP server must not hold up sealing or hold expiry.
    emails = await deliver_pending(sessionmaker, settings=settings, limit=100)
    return {
        "sealed": sealed,
        "expired_holds": expired,
        "expired_points": expired_points,
        "emails": emails,
        "refresh_tokens_deleted": refresh_tokens,
    }


_last_expiry_run: float | None = None


async def _expiry_step(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Points expiry and warnings, at most once per ``expiry_interval_seconds`` per process."""
    global _last_expiry_run
    if not settings.expiry_enabled:
        return 0
    started = time.monotonic()
    if _last_expiry_run is not None and started - _last_expiry_run < settings.expiry_interval_seconds:
        return 0
    _last_expiry_run = started
    from backend.core.types import utcnow
    from backend.expiry.service import run_expiry

    return (await run_expiry(sessionmaker, now=utcnow())).points


# The sealer normally looks a few minutes behind its newest link; once at start-up and
# then every so often it scans the whole ledger, so a transfer stamped earlier than that
# window (a late commit, an imported history) is sealed all the same.
FULL_SCAN_EVERY_RUNS = 300
# Stale refresh tokens pile up slowly (a row per sign-in or refresh); every 300 runs
# (about ten minutes at the default interval) is often enough, and runs at start-up.
HOUSEKEEPING_EVERY_RUNS = 300


async def run_scheduler(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    runs = 0
    while True:
        try:
            result = await run_once(
                sessionmaker,
                settings,
                full_scan=runs % FULL_SCAN_EVERY_RUNS == 0,
                housekeeping=runs % HOUSEKEEPING_EVERY_RUNS == 0,
            )
            if any(result.values()):
                logger.debug("jobs ran", extra=result)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failing run is logged, the next one tries again
            logger.exception("background job failed")
        runs += 1
        await asyncio.sleep(settings.sealer_interval_seconds)
