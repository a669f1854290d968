"""Domain errors and their RFC 9457 problem+json rendering.

A service raises a ``DomainError`` subclass; the one handler here turns it into a
problem document with a stable ``code`` a client can switch on. Routers declare the
errors they can raise with ``problem_responses`` so OpenAPI lists them.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.request_context import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://kernpunt.be/problems/"

logger = logging.getLogger("kernpunt.errors")


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


# Work that must be kept although the request that raised the error is rolled back.
Remember = Callable[[AsyncSession], Awaitable[None]]


class DurableFailure(DomainError):
    """Mixin for errors whose consequences must outlive the rolled-back request.

    A failed sign-in has to count towards the lockout, a wrong card PIN towards the
    card's lock, a replayed refresh token has to revoke its family; yet every error
    rolls the request transaction back. ``TransactionalRoute`` runs ``remember`` in a
    transaction of its own after the rollback and before the error is rendered.
    """

    remember: Remember | None = None

    def with_memory(self, remember: Remember) -> Self:
        self.remember = remember
        return self


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyKeyMissing(DomainError):
    status = 400
    code = "idempotency_key_missing"
    title = "Idempotency-Key header required"


class IdempotencyKeyInvalid(DomainError):
    status = 400
    code = "idempotency_key_invalid"
    title = "Idempotency-Key header malformed"


class IdempotencyKeyReused(DomainError):
    status = 409
    code = "idempotency_key_reused"
    title = "Idempotency key already used for a different request"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts"


class ServiceBusy(DomainError):
    status = 503
    code = "service_busy"
    title = "The service is busy, try again"


class ProblemDetail(BaseModel):
    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    request: Request | None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "request_id": current_request_id(),
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry listing the problem codes an endpoint may return."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        codes = ", ".join(f"`{e.code}`" for e in group)
        responses[status] = {
            "model": ProblemDetail,
            "description": f"{HTTPStatus(status).phrase}: {codes}",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
    return responses


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429 and "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            request=request,
            extra=exc.extra or None,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg"),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        return problem_response(
            status=422,
            code="validation_error",
            title="The request is not valid",
            detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
            request=request,
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(
            status=exc.status_code,
            code=code,
            title=HTTPStatus(exc.status_code).phrase,
            detail=str(exc.detail) if exc.detail else None,
            request=request,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return problem_response(
            status=500,
            code="internal_error",
            title="Internal error",
            detail="Something went wrong on our side; nothing was changed.",
            request=request,
        )
