"""Cursor pagination: newest first, the cursor is the last id seen, opaque to clients."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from backend.core.errors import DomainError
from backend.core.ids import MAX_ID

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class InvalidCursor(DomainError):
    status = 400
    code = "invalid_cursor"
    title = "The pagination cursor is not valid"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    before_id: int | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id":
            raise ValueError(prefix)
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(value)
        return number
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc


async def page_params(
    limit: int = Query(50, ge=1, le=MAX_PAGE_SIZE, description="Items per page"),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page"),
) -> PageParams:
    return PageParams(limit=limit, before_id=decode_cursor(cursor) if cursor else None)


def next_cursor(ids: list[int], limit: int) -> str | None:
    """Cursor for the page after one that returned ``ids`` (fetched with ``limit + 1``)."""
    if len(ids) > limit:
        return encode_cursor(ids[limit - 1])
    return None
