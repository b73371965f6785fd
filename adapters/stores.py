"""Persistence selection: a store URL becomes the ``eventsourcing`` environment."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from leadkey.domain.errors import InvalidConfiguration, StoreUnavailable

DEFAULT_STORE = "sqlite:///leadkey.db"
#: The recorders that keep the identifier index with the events (see ``durable_index``).
SQLITE_RECORDER = "leadkey.adapters.durable_index:IndexedSQLiteRecorder"
POSTGRES_RECORDER = "leadkey.adapters.postgres_index:IndexedPostgresRecorder"


class StoreError(InvalidConfiguration):
    """A store URL that leadkey cannot use."""


def store_env(url: str, *, read_only: bool = False) -> dict[str, str]:
    """The ``eventsourcing`` settings for a store URL.

    - ``memory:`` keeps events in this process only;
    - ``sqlite:///relative/file.db`` or ``sqlite:////absolute/file.db``: an embedded file;
    - ``postgresql://user:password@host:port/database``: a PostgreSQL server
      (needs the ``postgres`` extra); ``?schema=name`` puts the tables in that schema,
      which must exist (default ``public``).

    With ``read_only``, a SQLite file is opened read-only (see :func:`_sqlite_read_only`):
    it can be a read-only file, in a read-only folder; a file that does not exist is an
    empty store, and is not created.  PostgreSQL is opened as usual.
    """
    if not isinstance(url, str):
        raise StoreError(f"a store is given by its URL (a string), not {type(url).__name__}")
    if url in ("memory:", "memory://"):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    path = sqlite_file(url)
    if path is not None:
        if not path:
            raise StoreError("sqlite store URL needs a file: sqlite:///path/to/file.db")
        parent = Path(path).parent
        if not parent.is_dir():
            raise StoreError(f"cannot open store {url!r}: folder {str(parent)!r} does not exist")
        if read_only:
            return _sqlite_read_only(url, path)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
        }
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise StoreError("postgresql store URL needs host and database: postgresql://host/db")
        settings = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(database),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER,
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            if not _SCHEMA.fullmatch(schema[-1]):
                raise StoreError(
                    f"schema {schema[-1]!r}: a schema name here is letters, digits and _ "
                    "(not starting with a digit)"
                )
            settings["POSTGRES_SCHEMA"] = schema[-1]
        if read_only:  # a reader creates no tables, and needs one connection
            settings.update(CREATE_TABLE="false", POSTGRES_POOL_SIZE="1")
        return settings
    raise StoreError(
        f"unknown store {url!r}: use memory:, sqlite:///file.db or postgresql://host/db"
    )


#: The schema names a store URL takes (PostgreSQL's unquoted identifiers, in any case).
_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_postgres(env: dict[str, str], timeout: float) -> None:
    """Connect once to the PostgreSQL server ``env`` names, so that a wrong host or port,
    a missing database or role, or a refused password is said at once and by name
    (the connection pool would retry for its whole timeout, then say only that it
    could not connect).  Raise ``StoreUnavailable`` with the server's reason when it
    does not answer within ``timeout`` seconds or refuses, ``StoreError`` for a schema
    that is not there."""
    import psycopg  # only with the postgres extra

    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    try:
        connection = psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=max(1, round(timeout)),
        )
        with connection:
            schema = env.get("POSTGRES_SCHEMA")
            query = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
            missing = schema and not connection.execute(query, [schema]).fetchone()
    except psycopg.Error as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise StoreUnavailable(f"cannot connect to PostgreSQL at {where}: {reason}") from error
    if missing:
        raise StoreError(f"PostgreSQL database {where} has no schema {schema!r}")


def sqlite_file(url: str) -> str | None:
    """The file a ``sqlite:///`` store URL names (None for other stores; "" if it names
    none): ``sqlite:///leads.db`` is ``leads.db``, ``sqlite:////srv/leads.db`` is
    ``/srv/leads.db``."""
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


#: Bytes 18 and 19 of a SQLite file's header: 2 in WAL mode, 1 with a rollback journal.
_WAL_HEADER = b"\x02\x02"


def _sqlite_read_only(url: str, path: str) -> dict[str, str]:
    """Settings that open the SQLite file at ``path`` read-only, so that commands that
    only read work on a file or in a folder they cannot write.

    The file is opened as a ``file:...?mode=ro`` URI, without creating tables.  In WAL
    mode (every store leadkey wrote) a reader needs the ``-shm`` file, which SQLite
    creates beside the database if it can; in a read-only folder without one, and for a
    file with a rollback journal (which eventsourcing would switch to WAL), the file is
    opened ``immutable`` instead: nobody can be writing to it then, as a writer needs
    the folder (WAL) or switched it to WAL first.  A missing or empty file is an empty
    store (in memory).
    """
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        header = b""
    except OSError as error:
        raise StoreError(f"cannot open store {url!r}: {error.strerror or error}") from error
    if not header:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    location = "file:" + quote(os.path.abspath(path))
    uri = f"{location}?mode=ro"
    if header[18:20] != _WAL_HEADER or (
        not _opens(uri) and not os.path.exists(path + "-wal")  # else immutable misses it
    ):
        uri += "&immutable=1"
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": uri,
        "SQLITE_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "false",
        "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
    }


def _opens(uri: str) -> bool:
    """Whether SQLite can read the database ``uri`` names (WAL mode included)."""
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return False
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return True
