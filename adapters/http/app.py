"""The ASGI application: routes, error handlers, and the lifespan that opens the
process's one :class:`Leadkey` and its tokens' request counts, and closes them
(recording what was submitted) at shutdown."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from leadkey.adapters.application import Leadkey
from leadkey.adapters.rate_limits import REQUESTS_PER_HOUR, MemoryLimiter, rate_limiter
from leadkey.adapters.stores import DEFAULT_STORE

from .common import local_store
from .errors import HANDLERS
from .routes import ROUTES

#: The environment variable that names the store of :func:`app_from_env` (as for the CLI).
STORE_ENV = "LEADKEY_STORE"
#: The environment variable that sets :func:`app_from_env`'s requests per hour per token.
RATE_LIMIT_ENV = "LEADKEY_RATE_LIMIT"


def create_app(
    store: str | Leadkey = DEFAULT_STORE,
    *,
    rate_limit: int = REQUESTS_PER_HOUR,
    limits: str | None = None,
) -> Starlette:
    """The HTTP service over ``store``: a store URL, opened when the application starts,
    or a :class:`Leadkey` it takes over.  Either is closed when the application stops.

    A token may make ``rate_limit`` requests an hour, counted beside the store URL
    ``limits`` (by default ``store``'s; for a given Leadkey without it: in this process)
    so that every process serving the store shares the counts.
    """
    where = limits or (store if isinstance(store, str) else None)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        leadkey = store if isinstance(store, Leadkey) else await run_in_threadpool(Leadkey, store)
        counts = (
            await run_in_threadpool(rate_limiter, where, rate_limit)
            if where
            else MemoryLimiter(rate_limit, 3600.0)
        )
        app.state.leadkey, app.state.limiter, app.state.rate_limit = leadkey, counts, rate_limit
        app.state.local_reads = local_store(leadkey)
        try:
            yield
        finally:
            counts.close()
            await run_in_threadpool(leadkey.close)

    return Starlette(routes=ROUTES, exception_handlers=HANDLERS, lifespan=lifespan)


def app_from_env() -> Starlette:
    """:func:`create_app` of the store named by ``LEADKEY_STORE`` and the limit set by
    ``LEADKEY_RATE_LIMIT`` (uvicorn's factory for several worker processes, which each
    open the store)."""
    limit = int(os.environ.get(RATE_LIMIT_ENV, REQUESTS_PER_HOUR))
    return create_app(os.environ.get(STORE_ENV, DEFAULT_STORE), rate_limit=limit)
