"""What a request brings: its bearer token, and its body, checked as the Async API checks
it before anything is recorded (within the payload size limit, a JSON object)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from leadkey.domain.errors import InvalidArgument
from leadkey.domain.payload import MAX_PAYLOAD_BYTES
from leadkey.domain.payload_keys import check_key

from .errors import ApiError

#: How much of a body past the size limit is read (and thrown away) before the 413, so
#: that a client still sending gets the answer rather than a reset connection.
DRAIN_LIMIT = 16 * MAX_PAYLOAD_BYTES


def bearer_token(request: Request) -> str:
    """The token of the ``Authorization: Bearer <token>`` header ("" if none)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header's key, if any (400 if it cannot be one)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if len(key) > 2 and key[0] == key[-1] == '"':  # (the draft standard quotes it)
        key = key[1:-1]
    try:
        return check_key(key)
    except InvalidArgument as error:
        raise ApiError(400, f"Idempotency-Key: {error}") from None


async def payload_text(request: Request) -> str:
    """The body as text, if it is a JSON object of at most ``MAX_PAYLOAD_BYTES`` bytes;
    else ``ApiError`` 413 (too large) or 400 (not UTF-8, not JSON, not an object).

    Limits on what a JSON object holds (nesting, number length, field count) are not
    checked here: such a payload is recorded as dropped, with the limit's reason."""
    body = await _body(request)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_int=_kept, parse_float=_kept)
    except RecursionError:  # nests deeper than Python parses: a decision drops it as such
        value = {} if text.lstrip(" \t\r\n").startswith("{") else None
    except ValueError as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body is not a JSON object")
    return text


async def json_object(request: Request, *, empty: bool = False) -> dict[str, Any]:
    """The body parsed, if it is a JSON object within the size limit (``{}`` for an
    empty body when ``empty``); else ``ApiError`` 413 or 400, as :func:`payload_text`."""
    body = await _body(request)
    if empty and not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    except RecursionError:
        raise ApiError(400, "the body nests too deeply") from None
    except ValueError as error:  # (also a number past Python's integer conversion limit)
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body is not a JSON object")
    return value


def _kept(literal: str) -> str:
    """(Numbers are only checked for syntax here, never converted.)"""
    return literal


async def _body(request: Request) -> bytes:
    too_large = ApiError(
        413, f"the body is larger than the limit of {MAX_PAYLOAD_BYTES:,} bytes: not recorded"
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > DRAIN_LIMIT:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_LIMIT:
            break
        if size <= MAX_PAYLOAD_BYTES:
            chunks.append(chunk)
    if size > MAX_PAYLOAD_BYTES:
        raise too_large
    return b"".join(chunks)
