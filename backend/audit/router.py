"""``GET /audit``: the municipality's audit trail, for admins and auditors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service
from backend.audit.schemas import AuditEventOut, AuditPage
from backend.auth.deps import AdminReader
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.ids import IdQuery
from backend.core.pagination import InvalidCursor, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session

router = APIRouter(route_class=TransactionalRoute, tags=["audit"])

Session = Annotated[AsyncSession, Depends(get_session)]


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
)
async def list_audit(
    principal: AdminReader,
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Text in the action, entity or values")] = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    actor: Annotated[IdQuery, Query(description="User id of who made the change")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="From (inclusive), ISO 8601; naive is UTC")] = None,
    to: Annotated[datetime | None, Query(description="Until (exclusive), ISO 8601; naive is UTC")] = None,
) -> AuditPage:
    """Who changed what, when, from what to what; newest first."""
    rows = await service.list_audit(
        session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        before_id=page.before_id,
        q=q,
        entity_type=entity_type,
        actor_user_id=actor,
        created_from=_aware(from_),
        created_to=_aware(to),
    )
    return AuditPage(
        items=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows[: page.limit]],
        next_cursor=next_cursor([r.id for r in rows], page.limit),  # type: ignore[misc]
    )
