from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backend.merchants.models import MerchantCategory

RULES_DESCRIPTION = (
    "Earn rule: points = floor(purchase in cents x rate / 100), the rate being the shop "
    "category's override or points_per_euro. Rounding is always down, everywhere (earns, "
    "campaign bonuses, refunds). Changing a rule never changes past transfers; changing "
    "points_expiry_days re-dates the points still in wallets."
)


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
    category_points_per_euro: dict[str, int] = Field(default_factory=dict)
    min_purchase_cents: int = 0
    daily_cap_points: int | None = None
    undo_window_seconds: int = 900
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
    category_points_per_euro: Annotated[
        dict[MerchantCategory, Annotated[StrictInt, Field(ge=0, le=10_000)]] | None,
        Field(default=None, description="Per shop category: points per euro; replaces the whole map"),
    ] = None
    min_purchase_cents: Annotated[StrictInt | None, Field(default=None, ge=0, le=10_000_000)] = None
    daily_cap_points: Annotated[
        StrictInt | None,
        Field(default=None, ge=1, le=10**9, description="Per shopper, shop and Brussels day; null removes the cap"),
    ] = None
