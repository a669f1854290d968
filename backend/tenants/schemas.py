from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class TenantOut(BaseModel):
    id: int
    slug: str
    name: str
    locale: str
    timezone: str
    point_value_cents: int
    points_per_euro: int
    hold_timeout_seconds: int
    points_expiry_days: int
    default_float_credit_limit: int
    created_at: datetime


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(default=None, min_length=2, max_length=200)] = None
    locale: Annotated[str | None, Field(default=None, pattern=r"^(nl-BE|fr-BE|en)$")] = None
    point_value_cents: Annotated[StrictInt | None, Field(default=None, ge=1, le=10_000)] = None
    points_per_euro: Annotated[StrictInt | None, Field(default=None, ge=0, le=10_000)] = None
    hold_timeout_seconds: Annotated[StrictInt | None, Field(default=None, ge=10, le=86_400)] = None
    points_expiry_days: Annotated[StrictInt | None, Field(default=None, ge=1, le=3_650)] = None
    default_float_credit_limit: Annotated[StrictInt | None, Field(default=None, ge=0, le=10**9)] = None
