"""Shared fixtures: applications on the in-memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
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
