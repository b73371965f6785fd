"""The Sync API: leads (create, read, update, search), the workspace's metadata and its
field definitions, each over one :class:`Leadkey` method, with a sync token.

Refusals of leadkey's (an unknown lead, an existing key, a refused value, a search it
cannot run) become telecrm's statuses and codes in ``errors.refusal``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadkey.adapters.search import DEFAULT_LIMIT, check_page, search_body
from leadkey.adapters.views import LeadView
from leadkey.domain.decisions import Decision, MatchConfig
from leadkey.domain.errors import InvalidSearch, SearchNeedsScan
from leadkey.domain.tokens import TokenInfo

from .common import (
    RECEIPT_HEADER,
    REPLAYED_HEADER,
    JsonResponse,
    authorize,
    read,
    service,
    workspace,
)
from .errors import ApiError
from .requests import idempotency_key, json_object, payload_text


async def create_lead(request: Request) -> Response:
    """``POST /lead``: a new lead (201), its refused and ignored fields as remarks; 409
    if a lead has its key, 400 if it has no usable identifier.  Actions are recorded
    with the payload, not applied."""
    token = await authorize(request, "sync")
    key = idempotency_key(request)
    text = await payload_text(request)
    decision = await run_in_threadpool(
        lambda: service(request).create_lead(
            workspace(request), text, source=_source(token), key=key
        )
    )
    remarks = [
        {"field": f"fields.{api}", "status": "IGNORED", "remark": why}
        for api, why in (*decision.rejected.items(), *decision.ignored.items())
    ]
    body = {"lead_id": str(decision.lead_id), "actions": [], "remarks": remarks}
    return JsonResponse(body, status_code=201, headers=_receipt(decision))


async def get_lead(request: Request) -> Response:
    """``GET /lead/{leadId}``: the lead's fields (and, with ``includeActions``, its
    actions: none, as leadkey keeps no timeline)."""
    await authorize(request, "sync")
    include = _query_bool(request, "includeActions")
    page = _query_page(request) if include else None
    lead = await read(
        request,
        lambda: service(request).lead(request.path_params["leadId"], workspace=workspace(request)),
    )
    body: dict[str, Any] = _lead(lead)
    if page is not None:
        body.update(actions=[], actions_skip=page[0], actions_limit=page[1])
    return JsonResponse(body)


async def update_lead(request: Request) -> Response:
    """``POST /lead/{leadId}``: set some fields (all or nothing); the lead's fields."""
    token = await authorize(request, "sync")
    key = idempotency_key(request)
    body = await json_object(request)
    fields = body.get("fields")
    if set(body) != {"fields"} or not isinstance(fields, dict):
        raise ApiError(400, 'the body is {"fields": {...}} (actions are not updated here)')
    leadkey, name, lead_id = service(request), workspace(request), request.path_params["leadId"]

    def update() -> tuple[Decision, LeadView]:
        decision = leadkey.update_lead(name, lead_id, fields, source=_source(token), key=key)
        return decision, leadkey.lead(lead_id, workspace=name)

    decision, lead = await run_in_threadpool(update)
    return JsonResponse({"fields": lead.fields}, headers=_receipt(decision))


async def search_leads(request: Request) -> Response:
    """``POST /lead/search``: the leads matching the body's field filters, newest first."""
    await authorize(request, "sync")
    skip, limit = _query_page(request)
    filters = search_body(await json_object(request, empty=True))
    leadkey, name = service(request), workspace(request)

    def search(scan: bool) -> tuple[int, list[LeadView]]:
        return leadkey.search_leads(name, filters, skip=skip, limit=limit, scan=scan)

    found: tuple[int, list[LeadView]] | None = None
    if request.app.state.local_reads:  # (through the index: short, on the event loop)
        with suppress(SearchNeedsScan):
            found = search(scan=False)
    if found is None:  # (a scan of every lead, or a store over the network: a worker thread)
        found = await run_in_threadpool(search, True)
    total, leads = found
    data = [_lead(lead) for lead in leads]
    return JsonResponse({"data": data, "total_count": total, "skip": skip, "limit": limit})


async def metadata(request: Request) -> Response:
    """``GET /metadata``: the workspace's name, id, creation time and identifier."""
    await authorize(request, "sync")
    leadkey, name = service(request), workspace(request)
    config, created = await read(
        request, lambda: (leadkey.workspace_info(name).config, leadkey.workspace_created(name))
    )
    return JsonResponse(
        {
            "name": config.name,
            "id": str(config.workspace_id),
            "creationTimeStamp": int(created.timestamp() * 1000),
            "leadIdentifierFieldId": config.identifier,
            "country": config.country,
            "timezone": config.timezone,
        }
    )


async def custom_fields(request: Request) -> Response:
    """``GET /custom-fields``: every field's definition (``detail``: the detailed shape)."""
    await authorize(request, "sync")
    detail = _query_bool(request, "detail")
    config = await _config(request)
    return JsonResponse([_definition(config, api, detail) for api in config.fields])


async def custom_field(request: Request) -> Response:
    """``GET /custom-fields/{apiName}``: one field's detailed definition (the name is
    case-sensitive)."""
    await authorize(request, "sync")
    api = request.path_params["apiName"]
    config = await _config(request)
    if api not in config.fields:
        raise ApiError(404, f"Could not find custom field with apiName {api[:64]!r}")
    return JsonResponse(_definition(config, api, True))


async def _config(request: Request) -> MatchConfig:
    name = workspace(request)
    info = await read(request, lambda: service(request).workspace_info(name))
    return info.config


def _definition(config: MatchConfig, api: str, detail: bool) -> dict[str, Any]:
    """A field's definition as telecrm gives it (leadkey has no options, locks or
    descriptions; a field's id is its API name)."""
    summary = {
        "type": str(config.fields[api]).upper(),
        "apiName": api,
        "lockAfterCreate": False,
        "isLeadid": api == config.identifier,
        "options": [],
    }
    return {"id": api, **summary, "description": ""} if detail else summary


def _lead(lead: LeadView) -> dict[str, Any]:
    return {"lead_id": str(lead.lead_id), "fields": lead.fields}


def _source(token: TokenInfo) -> dict[str, str]:
    return {"api": "sync", "token": str(token.token_id)}


def _receipt(decision: Decision) -> dict[str, str]:
    headers = {RECEIPT_HEADER: str(decision.position)}
    if decision.repeated:
        headers[REPLAYED_HEADER] = "true"
    return headers


def _query_page(request: Request) -> tuple[int, int]:
    """``skip`` and ``limit`` of the query (0 and 10 if absent); 400 outside 0+, 1-100."""
    limit_error = InvalidSearch("Limit should be between 1 and 100")
    skip = _query_int(request, "skip", 0, InvalidSearch("Skip should be 0 or more"))
    limit = _query_int(request, "limit", DEFAULT_LIMIT, limit_error)
    check_page(skip, limit)
    return skip, limit


def _query_int(request: Request, name: str, default: int, error: Exception) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise error
    return int(text)


def _query_bool(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "false").lower()
    if text not in ("true", "false"):
        raise ApiError(400, f"{name} is true or false")
    return text == "true"


SYNC_ROUTES = [
    Route("/enterprise/{workspace}/lead", create_lead, methods=["POST"]),
    Route("/enterprise/{workspace}/lead/search", search_leads, methods=["POST"]),
    Route("/enterprise/{workspace}/lead/{leadId}", get_lead, methods=["GET"]),
    Route("/enterprise/{workspace}/lead/{leadId}", update_lead, methods=["POST"]),
    Route("/enterprise/{workspace}/metadata", metadata, methods=["GET"]),
    Route("/enterprise/{workspace}/custom-fields", custom_fields, methods=["GET"]),
    Route("/enterprise/{workspace}/custom-fields/{apiName}", custom_field, methods=["GET"]),
]
