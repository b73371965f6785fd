"""Every route of the service: the Async API, the Sync API and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .async_api import ASYNC_ROUTES
from .common import RECEIPT_HEADER, REPLAYED_HEADER
from .document import openapi_bytes
from .sync_api import SYNC_ROUTES

__all__ = ["RECEIPT_HEADER", "REPLAYED_HEADER", "ROUTES"]


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``: the OpenAPI document of this service."""
    return Response(openapi_bytes(), media_type="application/json")


ROUTES = [
    *ASYNC_ROUTES,
    *SYNC_ROUTES,
    Route("/openapi.json", openapi, methods=["GET"]),
]
