"""Shared fixtures: applications on the in-memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def log_end(store: str) -> int:
    """The last log position of ``store`` (0: empty), read by a read-only Leadkey."""
    with Leadkey(store, read_only=True) as app:
        return app._log.recorder.max_notification_id() or 0


class Server:
    """``leadkey serve`` running in a subprocess on a free loopback port."""

    def __init__(self, store: str, tmp_path: Path, *args: str) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:  # a free port (released just before the server binds it)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = store
        self.log = tmp_path / f"server-{self.port}.log"
        command = [sys.executable, "-m", "leadkey.adapters.cli", "--store", store, "serve"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *args], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait()

    def _wait(self, timeout: float = 30.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"leadkey serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"leadkey serve did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """``kill -9``: no shutdown, nothing flushed."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start ``leadkey serve`` on a store: ``serve(store_url, *options) -> Server``; all
    are stopped at the end of the test."""
    pytest.importorskip("starlette", reason="the http extra is not installed")
    servers: list[Server] = []

    def start(store: str, *args: str) -> Server:
        servers.append(Server(store, tmp_path, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
