"""What every endpoint uses: the process's :class:`Leadkey`, the token check with its
rate limit, and JSON responses.

Short reads of the store (a token, a lead, a lookup by identifier) run on the event loop
when the store is on this machine (SQLite, memory): under SQLite's WAL a reader never
waits for a writer, and such a read costs less than the trip to a worker thread and
back, whose hand-over of the interpreter lock cost half the throughput under load.  On
PostgreSQL (a round trip over the network) and for anything long (a scan of every lead,
a write) they run in a worker thread.  An ingest awaits its group commit
(``Leadkey.ingest_async``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from leadkey.adapters.application import Leadkey
from leadkey.adapters.rate_limits import RateLimiter
from leadkey.domain.payload import dumps
from leadkey.domain.tokens import TokenInfo

from .errors import ApiError
from .requests import bearer_token

#: The response header that carries a recorded payload's receipt: the log position of
#: its decision, for ``GET /enterprise/{workspace}/receipts/{receipt}``.
RECEIPT_HEADER = "Leadkey-Receipt"
#: Set on the answer to a retry under an idempotency key: the first request's answer.
REPLAYED_HEADER = "Idempotent-Replayed"

_T = TypeVar("_T")


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


def local_store(leadkey: Leadkey) -> bool:
    """Whether ``leadkey``'s store is on this machine (SQLite or memory): its short reads
    run on the event loop."""
    return leadkey.env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres"


async def read(request: Request, call: Callable[[], _T]) -> _T:
    """The result of ``call``, a short read of the store: on the event loop for a store
    on this machine, else in a worker thread."""
    if request.app.state.local_reads:
        return call()
    return await run_in_threadpool(call)


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

    def check() -> tuple[TokenInfo, float | None]:
        info = leadkey.authenticate(workspace, token, kind)
        return info, limits.take(str(info.token_id))

    info, wait = await read(request, check)
    if wait is not None:
        raise ApiError(
            429,
            f"this token made its {request.app.state.rate_limit:,} requests of the hour: "
            "nothing recorded",
            code="RATE_LIMITED",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return info


def workspace(request: Request) -> str:
    """The workspace named in the request's path."""
    return str(request.path_params["workspace"])
