"""The outbox over HTTP: so administrators (and developers) can see what was mailed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminWriter
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.notifications import service
from backend.notifications.schemas import OutboxMessageOut

router = APIRouter(route_class=TransactionalRoute, tags=["notifications"])

Session = Annotated[AsyncSession, Depends(get_session)]
Status = Literal["pending", "sending", "sent", "logged", "failed", "cancelled"]


@router.get(
    "/outbox",
    response_model=Page[OutboxMessageOut],
    summary="E-mails of my municipality, newest first (municipality administrators)",
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
)
async def list_outbox(
    principal: AdminWriter,
    session: Session,
    paging: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Status | None, Query()] = None,
) -> Page[OutboxMessageOut]:
    messages = await service.list_outbox(
        session,
        tenant_id=principal.tenant_id,
        limit=paging.limit,
        before_id=paging.before_id,
        status=status,
    )
    return Page(
        items=[OutboxMessageOut.model_validate(m) for m in messages[: paging.limit]],
        next_cursor=next_cursor([m.id for m in messages if m.id is not None], paging.limit),
    )
