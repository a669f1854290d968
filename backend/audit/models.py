"""The audit trail: who changed which administrative setting, when, from what to what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only: one row per administrative change, never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    actor_user_id: int | None = Field(default=None, sa_type=BigInteger)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
