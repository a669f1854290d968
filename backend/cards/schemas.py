from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: Annotated[StrictInt, Field(ge=1, le=500, description="Number of cards to make (1-500).")]


class BatchCard(BaseModel):
    number: str
    number_display: str


class BatchCreated(BaseModel):
    batch_id: int
    size: int
    created_at: datetime
    sheet_url: str
    sheet_available_until: datetime
    cards: list[BatchCard]


class BatchOut(BaseModel):
    batch_id: int
    size: int
    created_at: datetime
    created_by_user_id: int | None
    registered: int
    blocked: int
    sheet_url: str
    sheet_available_until: datetime


class CardRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[
        str,
        Field(
            min_length=1, max_length=40, description="The 13 digits on the card; spaces allowed."
        ),
    ]
    pin: Annotated[str, Field(min_length=1, max_length=12, description="The card's 4-digit PIN.")]


class ShopperCardOut(BaseModel):
    card_last4: str
    registered_at: datetime | None
    blocked: bool


class CardRegistered(ShopperCardOut):
    points_moved: int
    transfer_id: int | None


class ShopperCards(BaseModel):
    items: list[ShopperCardOut]


class CardBlockedOut(BaseModel):
    number: str
    card_last4: str
    blocked_at: datetime
