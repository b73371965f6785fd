"""The endpoints: each checks the request's token, then calls one :class:`Leadkey` method.

Reads of the store (tokens, receipts) run in a worker thread so that the event loop never
waits on the store; an ingest awaits its group commit (``Leadkey.ingest_async``).
"""

from __future__ import annotations

import math
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadkey.adapters.application import Leadkey
from leadkey.adapters.rate_limits import RateLimiter
from leadkey.domain.errors import KeyReused, NotAuthorized, UnknownWorkspace
from leadkey.domain.payload import dumps
from leadkey.domain.tokens import TokenInfo
from leadkey.projections.audit import MAX_POSITION

from .document import openapi_bytes
from .errors import ApiError
from .requests import bearer_token, idempotency_key, payload_text

#: The response header that carries an accepted payload's receipt: the log position of
#: its decision, for ``GET /enterprise/{workspace}/receipts/{receipt}``.
RECEIPT_HEADER = "Leadkey-Receipt"
#: Set on the answer to a retry under an idempotency key: the first request's answer.
REPLAYED_HEADER = "Idempotent-Replayed"


class JsonResponse(Response):
    """JSON as leadkey writes it (any depth of nesting a payload may bring)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def service(request: Request) -> Leadkey:
    """The process's :class:`Leadkey` (opened by the application's lifespan)."""
    leadkey = getattr(request.app.state, "leadkey", None)
    if not isinstance(leadkey, Leadkey):
        raise RuntimeError("the application's lifespan did not run: no Leadkey")
    return leadkey


def limiter(request: Request) -> RateLimiter:
    """The request counts of the store's tokens (opened by the application's lifespan)."""
    limits = getattr(request.app.state, "limiter", None)
    if limits is None:
        raise RuntimeError("the application's lifespan did not run: no rate limiter")
    return cast(RateLimiter, limits)


async def authorize(request: Request, kind: str) -> TokenInfo:
    """The request's token, if it is an active ``kind`` token of the workspace in its
    path (else ``NotAuthorized``, 401) within its rate limit (else 429, with the seconds
    to wait in ``Retry-After``).  Read from the store on every request."""
    workspace, token = request.path_params["workspace"], bearer_token(request)
    leadkey, limits = service(request), limiter(request)

    def check() -> tuple[TokenInfo, float | None]:  # (one trip to a worker thread for both)
        info = leadkey.authenticate(workspace, token, kind)
        return info, limits.take(str(info.token_id))

    info, wait = await run_in_threadpool(check)
    if wait is not None:
        raise ApiError(
            429,
            f"this token made its {request.app.state.rate_limit:,} requests of the hour: "
            "nothing recorded",
            code="RATE_LIMITED",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return info


async def autoupdatelead(request: Request) -> Response:
    """``POST /enterprise/{workspace}/autoupdatelead``: the Async API.  Answers once the
    payload's decision is durably recorded; the receipt is in :data:`RECEIPT_HEADER`."""
    token = await authorize(request, "async")
    key = idempotency_key(request)
    text = await payload_text(request)
    source = {"api": "async", "token": str(token.token_id)}
    try:
        decision = await service(request).ingest_async(
            request.path_params["workspace"], text, source=source, key=key
        )
    except UnknownWorkspace:  # (tokens belong to workspaces, which are never removed)
        raise NotAuthorized("not a token of this workspace") from None
    except KeyReused as error:
        raise ApiError(422, f"{error}: nothing recorded", code="IDEMPOTENCY_KEY_REUSED") from None
    headers = {RECEIPT_HEADER: str(decision.position)}
    if decision.repeated:
        headers[REPLAYED_HEADER] = "true"
    return JsonResponse({"status": "QUEUED"}, headers=headers)


async def receipt(request: Request) -> Response:
    """``GET /enterprise/{workspace}/receipts/{receipt}``: the decision recorded for an
    accepted payload, explained (a sync token)."""
    await authorize(request, "sync")
    workspace = request.path_params["workspace"]
    text = request.path_params["receipt"]
    not_found = ApiError(404, f"no receipt {text[:40]!r} in this workspace")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_POSITION)):
        raise not_found
    position = int(text)
    if position > MAX_POSITION:
        raise not_found
    explained = await run_in_threadpool(service(request).explain_decision, workspace, position)
    if explained is None:
        raise not_found
    return JsonResponse(
        {"receipt": position, "decision": explained.as_dict(), "why": explained.why()}
    )


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``: the OpenAPI document of this service."""
    return Response(openapi_bytes(), media_type="application/json")


ROUTES = [
    Route("/enterprise/{workspace}/autoupdatelead", autoupdatelead, methods=["POST"]),
    Route("/enterprise/{workspace}/receipts/{receipt}", receipt, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
