"""Persistence selection: a store URL becomes the ``eventsourcing`` environment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_STORE = "sqlite:///leadkey.db"


class StoreError(ValueError):
    """A store URL that leadkey cannot use."""


def store_env(url: str) -> dict[str, str]:
    """The ``eventsourcing`` settings for a store URL.

    - ``memory:`` keeps events in this process only;
    - ``sqlite:///relative/file.db`` or ``sqlite:////absolute/file.db``: an embedded file;
    - ``postgresql://user:password@host:port/database``: a PostgreSQL server
      (needs the ``postgres`` extra).
    """
    if url in ("memory:", "memory://"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise StoreError("sqlite store URL needs a file: sqlite:///path/to/file.db")
        parent = Path(path).parent
        if not parent.is_dir():
            raise StoreError(f"cannot open store {url!r}: folder {str(parent)!r} does not exist")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise StoreError("postgresql store URL needs host and database: postgresql://host/db")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(database),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
        }
    raise StoreError(
        f"unknown store {url!r}: use memory:, sqlite:///file.db or postgresql://host/db"
    )
