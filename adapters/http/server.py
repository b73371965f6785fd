"""Running the service with uvicorn (``leadkey serve``)."""

from __future__ import annotations

import os

import uvicorn

from leadkey.adapters.application import Leadkey
from leadkey.adapters.rate_limits import REQUESTS_PER_HOUR

from .app import RATE_LIMIT_ENV, STORE_ENV, create_app


def run(
    store: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    leadkey: Leadkey | None = None,
    rate_limit: int = REQUESTS_PER_HOUR,
) -> None:
    """Serve ``store`` until stopped (Ctrl-C, SIGTERM).  One worker serves ``leadkey`` if
    given (else opens the store); several are processes that each open the store, named
    to them by ``LEADKEY_STORE`` (and the limit by ``LEADKEY_RATE_LIMIT``)."""
    if workers > 1:
        os.environ[STORE_ENV] = store
        os.environ[RATE_LIMIT_ENV] = str(rate_limit)
        uvicorn.run(
            "leadkey.adapters.http:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
        )
    else:
        app = create_app(leadkey or store, rate_limit=rate_limit, limits=store)
        uvicorn.run(app, host=host, port=port)
