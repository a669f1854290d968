"""Queueing e-mails in the outbox and reading it back.

A message is written in the caller's transaction (flush only): it is sent if and only
if the request that wanted it commits. Delivery is ``backend.notifications.delivery``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.notifications.models import OutboxMessage


class OutboxStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    LOGGED = "logged"  # no SMTP server configured: written to the log instead (dev)
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    CANCELLED = "cancelled"  # the recipient's account was erased before sending


MAX_ATTEMPTS = 5
_SUBJECT_LIMIT = 300


async def queue_email(
    session: AsyncSession,
    *,
    tenant_id: int,
    to_email: str,
    subject: str,
    body_text: str,
    kind: str,
) -> OutboxMessage:
    message = OutboxMessage(
        tenant_id=tenant_id,
        to_email=to_email,
        # A header line: no newlines (header injection), within the column.
        subject=" ".join(subject.split())[:_SUBJECT_LIMIT],
        body_text=body_text,
        kind=kind,
        status=OutboxStatus.PENDING,
    )
    session.add(message)
    await session.flush()
    return message


async def list_outbox(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    before_id: int | None = None,
    status: str | None = None,
) -> list[OutboxMessage]:
    """Messages of one municipality, newest first, ``limit + 1`` rows for paging."""
    query = select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(await session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit + 1)))


async def erase_recipient(
    session: AsyncSession, *, tenant_id: int, email: str, replacement: str
) -> None:
    """Forget an address (account erasure): unsent mail is cancelled, every body blanked.

    The rows stay so the municipality can still count what was sent.
    """
    scope = (OutboxMessage.tenant_id == tenant_id, OutboxMessage.to_email == email)
    await session.execute(
        update(OutboxMessage)
        .where(*scope, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(*scope)
        .values(to_email=replacement, body_text="")
        .execution_options(synchronize_session=False)
    )
