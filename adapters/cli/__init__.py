"""The ``leadkey`` console command: a thin adapter over :class:`Leadkey`.

Every command opens the store named by ``--store`` (or ``LEADKEY_STORE``, else
``sqlite:///leadkey.db`` in the current directory), does one thing through the
application service, and closes it.  Expected failures print one ``error: ...``
line on stderr and exit with status 2; a lookup that finds nothing exits with 1.

``base`` holds the root group, the store and the shared options and output; each other
module holds a command (or a group of them) with the formatting of its output.
"""

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

__all__ = [
    "audit",
    "configuration",
    "index",
    "ingest",
    "leads",
    "lookup",
    "main",
    "serve",
    "tokens",
    "what_if",
    "workspaces",
]
