"""The Async API (``POST /enterprise/{workspace}/autoupdatelead``) and the receipts of
its decisions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadkey.domain.errors import KeyReused, NotAuthorized, UnknownWorkspace
from leadkey.projections.audit import MAX_POSITION

from .common import RECEIPT_HEADER, REPLAYED_HEADER, JsonResponse, authorize, service
from .errors import ApiError
from .requests import idempotency_key, payload_text


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


ASYNC_ROUTES = [
    Route("/enterprise/{workspace}/autoupdatelead", autoupdatelead, methods=["POST"]),
    Route("/enterprise/{workspace}/receipts/{receipt}", receipt, methods=["GET"]),
]
