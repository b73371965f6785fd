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

from leadkey.domain.errors import ConcurrencyError, NotAuthorized, StoreUnavailable

logger = logging.getLogger("leadkey.http")

#: The code each plain HTTP status gets in the envelope.
CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


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
    headers = {"WWW-Authenticate": 'Bearer realm="leadkey"'}
    return error_response(ApiError(401, str(error), headers=headers))


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


async def unexpected(_request: Request, _error: Exception) -> Response:
    """(Starlette raises the error again once this answered, for the server to log it.)"""
    return error_response(ApiError(500, "an unexpected error: it is logged on the server"))


#: Starlette's ``exception_handlers``.
HANDLERS = {
    ApiError: api_error,
    NotAuthorized: not_authorized,
    StoreUnavailable: unavailable,
    ConcurrencyError: unavailable,
    HTTPException: http_error,
    Exception: unexpected,
}
