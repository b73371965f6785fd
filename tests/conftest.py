"""Shared fixtures: applications on the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leadkey.adapters.application import Leadkey


@pytest.fixture
def app() -> Iterator[Leadkey]:
    application = Leadkey("memory:")
    yield application
    application.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'leadkey.db'}"


#: The PostgreSQL server the tests use: LEADKEY_TEST_POSTGRES overrides it ("off" skips
#: the PostgreSQL tests, e.g. on a machine without a server; CI always has one).
POSTGRES = os.environ.get("LEADKEY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL on a new schema of the test PostgreSQL database, dropped afterwards."""
    if POSTGRES == "off":
        pytest.skip("LEADKEY_TEST_POSTGRES=off")
    import psycopg

    schema = f"leadkey_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES}?schema={schema}"
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new store that keeps the index: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leadkey.db'}"
        return
    with postgres_schema() as url:
        yield url
