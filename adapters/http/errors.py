"""The error envelope, ``{"error": {"code", "message", "details"?}}``, and which of
leadkey's errors becomes which status and code.  Nothing else reaches a client: an
unexpected error is answered with a 500 in the envelope (the server logs it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadkey.domain.errors import (
    ConcurrencyError,
    IdentifierImmutable,
    InvalidSearch,
    KeyReused,
    LeadExists,
    NotAuthorized,
    PayloadRejected,
    StoreUnavailable,
    UnknownLead,
    UnknownWorkspace,
)

logger = logging.getLogger("leadkey.http")

#: The code each plain HTTP status gets in the envelope.
CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    409: "CONFLICT",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
#: The header of every 401.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="leadkey"'}


class ApiError(Exception):
    """A refusal with its status, envelope code and message (``details``: a list of
    ``{"field", "message"}``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "ERROR")
        self.message = message
        self.details = details
        self.headers = headers


def error_response(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return JSONResponse({"error": body}, status_code=error.status, headers=error.headers)


async def api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def not_authorized(_request: Request, error: Exception) -> Response:
    return error_response(ApiError(401, str(error), headers=CHALLENGE))


async def unavailable(_request: Request, error: Exception) -> Response:
    logger.warning("store unavailable: %s", error)
    message = "the store is unavailable: nothing was recorded; try again later"
    if isinstance(error, ConcurrencyError):
        message = "the workspace is busy: nothing was recorded; try again"
    return error_response(ApiError(503, message, headers={"Retry-After": "1"}))


async def http_error(_request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such route, a method a route does not take)."""
    assert isinstance(error, HTTPException)
    return error_response(ApiError(error.status_code, str(error.detail), headers=error.headers))


def refusal(error: Exception) -> ApiError:
    """What a refusal of leadkey's (a write of one lead, a search) answers; nothing was
    recorded."""
    if isinstance(error, UnknownLead):
        return ApiError(
            404, f"no lead {str(error.lead_id)[:64]!r} in this workspace", code="LEAD_NOT_FOUND"
        )
    if isinstance(error, IdentifierImmutable):
        field = [{"field": f"fields.{error.field}", "message": "the lead identifier field"}]
        return ApiError(
            403, "Cannot modify lead identifier field", code="INVALID_LEAD", details=field
        )
    if isinstance(error, LeadExists):
        message = f"a lead with this identifier exists: {error.lead_id} (key {error.key!r})"
        return ApiError(409, f"{message}: nothing recorded", code="LEAD_ALREADY_EXISTS")
    if isinstance(error, KeyReused):
        return ApiError(422, f"{error}: nothing recorded", code="IDEMPOTENCY_KEY_REUSED")
    if isinstance(error, UnknownWorkspace):  # (tokens belong to workspaces, never removed)
        return ApiError(401, "not a token of this workspace", headers=CHALLENGE)
    rejected = getattr(getattr(error, "decision", None), "rejected", None) or {}
    details = [{"field": f"fields.{api}", "message": why} for api, why in rejected.items()]
    suffix = "" if isinstance(error, InvalidSearch) else ": nothing recorded"
    return ApiError(400, f"{error}{suffix}", details=details or None)


async def refused(_request: Request, error: Exception) -> Response:
    return error_response(refusal(error))


async def unexpected(_request: Request, _error: Exception) -> Response:
    """(Starlette raises the error again once this answered, for the server to log it.)"""
    return error_response(ApiError(500, "an unexpected error: it is logged on the server"))


#: Starlette's ``exception_handlers``.
HANDLERS = {
    ApiError: api_error,
    NotAuthorized: not_authorized,
    StoreUnavailable: unavailable,
    ConcurrencyError: unavailable,
    UnknownLead: refused,
    IdentifierImmutable: refused,
    LeadExists: refused,
    KeyReused: refused,
    UnknownWorkspace: refused,
    PayloadRejected: refused,
    InvalidSearch: refused,
    HTTPException: http_error,
    Exception: unexpected,
}
