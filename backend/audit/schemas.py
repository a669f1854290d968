from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from backend.core.pagination import Page


class AuditEventOut(BaseModel):
    id: int
    actor_user_id: int | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


AuditPage = Page[AuditEventOut]
