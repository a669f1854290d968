"""Sending the outbox: each message once, through SMTP or (dev) to the log.

Delivery claims messages with one conditional UPDATE (pending -> sending) before it
sends anything: of two deliverers running at once (two workers' schedulers, or the CLI
next to a server) each message is claimed by exactly one. The claim is committed
before sending and the outcome recorded afterwards, so a crash mid-send leaves the
message in 'sending' rather than sending it twice (visible at GET /outbox).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.notifications.models import OutboxMessage
from backend.notifications.service import MAX_ATTEMPTS, OutboxStatus

logger = logging.getLogger("kernpunt.outbox")

SMTP_TIMEOUT_SECONDS = 20
_ERROR_LIMIT = 500

t = OutboxMessage.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    to_email: str
    subject: str
    body_text: str
    kind: str
    attempts: int


async def _claim(session: AsyncSession, *, limit: int) -> list[Claimed]:
    ids = list(
        await session.scalars(
            select(t.c.id).where(t.c.status == OutboxStatus.PENDING).order_by(t.c.id).limit(limit)
        )
    )
    if not ids:
        return []
    # The status condition is re-checked under the row lock (READ COMMITTED): a row
    # another deliverer claimed meanwhile is skipped here.
    rows = (
        await session.execute(
            update(t)
            .where(t.c.id.in_(ids), t.c.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING, attempts=t.c.attempts + 1)
            .returning(t.c.id, t.c.to_email, t.c.subject, t.c.body_text, t.c.kind, t.c.attempts)
        )
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda m: m.id)


def _to_mime(message: Claimed, *, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to_email
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(idstring=f"kp{message.id}")
    mime.set_content(message.body_text)
    return mime


def _send_smtp(settings: Settings, messages: list[Claimed]) -> list[str | None]:
    """Blocking: send over one connection; per message None (sent) or an error text."""
    assert settings.smtp_host is not None
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPException) as exc:
        return [f"connect: {exc}"] * len(messages)
    results: list[str | None] = []
    try:
        try:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
        except (OSError, smtplib.SMTPException) as exc:
            return [f"session: {exc}"] * len(messages)
        for message in messages:
            try:
                smtp.send_message(_to_mime(message, sender=settings.smtp_from))
                results.append(None)
            except smtplib.SMTPServerDisconnected as exc:
                results.extend([f"disconnected: {exc}"] * (len(messages) - len(results)))
                break
            except (OSError, smtplib.SMTPException) as exc:
                results.append(f"{type(exc).__name__}: {exc}")
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return results


def _log(messages: list[Claimed]) -> list[str | None]:
    for message in messages:
        logger.info(
            "e-mail (no SMTP configured) #%s to %s: %s\n%s",
            message.id,
            message.to_email,
            message.subject,
            message.body_text,
        )
    return [None] * len(messages)


async def _record(
    session: AsyncSession, *, messages: list[Claimed], errors: list[str | None], done_status: str
) -> None:
    now = utcnow()
    for message, error in zip(messages, errors, strict=True):
        if error is None:
            values: dict[str, object] = {"status": done_status, "sent_at": now, "last_error": None}
        else:
            logger.warning(
                "e-mail #%s failed (attempt %s): %s", message.id, message.attempts, error
            )
            values = {
                "status": case(
                    (t.c.attempts >= MAX_ATTEMPTS, OutboxStatus.FAILED), else_=OutboxStatus.PENDING
                ),
                "last_error": error[:_ERROR_LIMIT],
            }
        await session.execute(
            update(t)
            .where(t.c.id == message.id, t.c.status == OutboxStatus.SENDING)
            .values(**values)
        )


async def deliver_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings, limit: int = 50
) -> int:
    """Send up to ``limit`` pending messages; returns how many went out (or were logged).

    A failed message goes back to 'pending' for the next run until it has had
    ``MAX_ATTEMPTS`` attempts; then it is 'failed' for good.
    """
    async with transaction(sessionmaker) as session:
        messages = await _claim(session, limit=limit)
    if not messages:
        return 0
    if settings.smtp_host:
        errors = await asyncio.to_thread(_send_smtp, settings, messages)
        done_status = OutboxStatus.SENT
    else:
        errors = _log(messages)
        done_status = OutboxStatus.LOGGED
    async with transaction(sessionmaker) as session:
        await _record(session, messages=messages, errors=errors, done_status=done_status)
    return sum(1 for error in errors if error is None)
