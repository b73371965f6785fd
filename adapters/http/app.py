"""The ASGI application: routes, error handlers, and the lifespan that opens the
process's one :class:`Leadkey` and closes it (recording what was submitted) at shutdown."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from leadkey.adapters.application import Leadkey
from leadkey.adapters.stores import DEFAULT_STORE

from .errors import HANDLERS
from .routes import ROUTES

#: The environment variable that names the store of :func:`app_from_env` (as for the CLI).
STORE_ENV = "LEADKEY_STORE"


def create_app(store: str | Leadkey = DEFAULT_STORE) -> Starlette:
    """The HTTP service over ``store``: a store URL, opened when the application starts,
    or a :class:`Leadkey` it takes over.  Either is closed when the application stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        leadkey = store if isinstance(store, Leadkey) else await run_in_threadpool(Leadkey, store)
        app.state.leadkey = leadkey
        try:
            yield
        finally:
            await run_in_threadpool(leadkey.close)

    return Starlette(routes=ROUTES, exception_handlers=HANDLERS, lifespan=lifespan)


def app_from_env() -> Starlette:
    """:func:`create_app` of the store named by ``LEADKEY_STORE`` (uvicorn's factory for
    several worker processes, which each open the store)."""
    return create_app(os.environ.get(STORE_ENV, DEFAULT_STORE))
