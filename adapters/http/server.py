"""Running the service with uvicorn (``leadkey serve``)."""

from __future__ import annotations

import os
import sys

import uvicorn

from leadkey.adapters.application import Leadkey
from leadkey.adapters.rate_limits import REQUESTS_PER_HOUR

from .app import RATE_LIMIT_ENV, STORE_ENV, create_app

#: The interpreter's thread switch interval in ``leadkey serve`` (seconds).
SWITCH_INTERVAL = 0.001


def run(
    store: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    leadkey: Leadkey | None = None,
    rate_limit: int = REQUESTS_PER_HOUR,
    access_log: bool = False,
) -> None:
    """Serve ``store`` until stopped (Ctrl-C, SIGTERM).  One worker serves ``leadkey`` if
    given (else opens the store); several are processes that each open the store, named
    to them by ``LEADKEY_STORE`` (and the limit by ``LEADKEY_RATE_LIMIT``).  With
    ``access_log``, uvicorn logs every request (about a fifth of the requests a second).

    The interpreter switches threads every :data:`SWITCH_INTERVAL` seconds instead of
    Python's 5 ms: a commit that waits for the disk gives the event loop its turn, and
    gets its own back sooner (about 15 % more requests a second).  This is the server's
    own process: a program that embeds ``create_app`` keeps its own setting."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    if workers > 1:
        os.environ[STORE_ENV] = store
        os.environ[RATE_LIMIT_ENV] = str(rate_limit)
        uvicorn.run(
            "leadkey.adapters.http:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
        )
    else:
        app = create_app(leadkey or store, rate_limit=rate_limit, limits=store)
        uvicorn.run(app, host=host, port=port, access_log=access_log)
