"""Running the service with uvicorn (``leadkey serve``)."""

from __future__ import annotations

import os

import uvicorn

from leadkey.adapters.application import Leadkey

from .app import STORE_ENV, create_app


def run(
    store: str, *, host: str, port: int, workers: int = 1, leadkey: Leadkey | None = None
) -> None:
    """Serve ``store`` until stopped (Ctrl-C, SIGTERM).  One worker serves ``leadkey`` if
    given (else opens the store); several are processes that each open the store, named
    to them by ``LEADKEY_STORE``."""
    if workers > 1:
        os.environ[STORE_ENV] = store
        uvicorn.run(
            "leadkey.adapters.http:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
        )
    else:
        uvicorn.run(create_app(leadkey or store), host=host, port=port)
