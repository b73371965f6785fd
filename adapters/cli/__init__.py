"""The ``leadkey`` console command: a thin adapter over :class:`Leadkey`.

Every command opens the store named by ``--store`` (or ``LEADKEY_STORE``, else
``sqlite:///leadkey.db`` in the current directory), does one thing through the
application service, and closes it.  Expected failures print one ``error: ...``
line on stderr and exit with status 2; a lookup that finds nothing exits with 1.

``base`` holds the root group, the store and the shared options and output; each other
module holds a command (or a group of them) with the formatting of its output.
"""

import gc

from . import (  # register commands
    audit,
    configuration,
    index,
    ingest,
    leads,
    lookup,
    serve,
    tokens,
    what_if,
    workspaces,
)
from .base import main

#: The garbage collector's first threshold in the ``leadkey`` process (700 by default).
#: Ingesting and reading the log make millions of short-lived objects; at the default, a
#: collection runs every few payloads and each full one walks everything the process
#: keeps.  A service embedding leadkey chooses its own (see the README); the library
#: never changes it.
GC_THRESHOLD = 50_000


def run() -> None:
    """The ``leadkey`` command as a process of its own: :data:`GC_THRESHOLD`, then
    :func:`main`."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    main()


__all__ = [
    "audit",
    "configuration",
    "index",
    "ingest",
    "leads",
    "lookup",
    "main",
    "run",
    "serve",
    "tokens",
    "what_if",
    "workspaces",
]
