"""Recording and reading the audit trail.

``record_audit`` writes in the caller's transaction (flush only): the entry exists if
and only if the change it describes was committed. Values are made JSON-safe here
(dates to ISO text, sets to sorted lists) so callers can pass model dumps as they are.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEvent
from backend.auth.deps import Principal
from backend.core.types import utcnow


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_json_safe(v) for v in value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


async def record_audit(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: int | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime | None = None,
) -> AuditEvent:
    """One audit entry for a change made by ``principal`` (stable signature: shared)."""
    event = AuditEvent(
        tenant_id=principal.tenant_id,
        actor_user_id=principal.user_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        created_at=now or utcnow(),
    )
    session.add(event)
    await session.flush()
    return event


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def list_audit(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    before_id: int | None = None,
    q: str | None = None,
    entity_type: str | None = None,
    actor_user_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> list[AuditEvent]:
    """Newest first, ``limit + 1`` rows (the extra one tells there is a next page)."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if created_from is not None:
        query = query.where(AuditEvent.created_at >= created_from)
    if created_to is not None:
        query = query.where(AuditEvent.created_at < created_to)
    if q:
        # LIKE wildcards in the search text are taken literally.
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = (
            AuditEvent.action,
            AuditEvent.entity_type,
            AuditEvent.entity_id,
            cast(AuditEvent.before, String),
            cast(AuditEvent.after, String),
        )
        query = query.where(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    query = query.order_by(AuditEvent.id.desc()).limit(limit + 1)
    return list(await session.scalars(query))
