from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class Period(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date

    model_config = {"populate_by_name": True}


class ReportResponse(BaseModel):
    """One chart or table: long-format rows; a suppressed cell has null measures and ``suppressed: true``."""

    report: str
    period: Period
    filters: dict[str, Any]
    k: int
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = []
    extra: dict[str, Any] = {}


class Campaign(BaseModel):
    account_id: int
    code: str
    name: str
    start: date | None
    end: date | None
    bonuses: int
    bonus_points: int


class ReportSettings(BaseModel):
    k_anonymity: int = Field(ge=2, le=100, description="Cells describing fewer shoppers are suppressed.")


class RollupCheck(BaseModel):
    ok: bool
    rows: int
    differences: list[str]
