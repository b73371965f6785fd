"""Every error leadkey documents, raised as documented, and all of them LeadkeyErrors."""

from __future__ import annotations

import inspect
import socket
import time
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

import leadkey
import leadkey.adapters.application as application
from leadkey import (
    ConcurrencyError,
    InvalidArgument,
    InvalidConfiguration,
    Leadkey,
    LeadkeyError,
    PositionError,
    StoreError,
    StoreUnavailable,
    Switch,
    UnknownLead,
    UnknownWorkspace,
    UnusableLookup,
    UnusableValue,
    WhatIfError,
    WorkspaceNotCreatedYet,
)
from leadkey.adapters.durable_index import IndexBehind

PHONE = {"fields": {"phone": "9999999991"}}


def test_every_public_error_is_a_leadkey_error() -> None:
    errors = [
        getattr(leadkey, name)
        for name in leadkey.__all__
        if inspect.isclass(getattr(leadkey, name))
        and issubclass(getattr(leadkey, name), BaseException)
    ]
    assert len(errors) >= 12
    assert all(issubclass(error, LeadkeyError) for error in errors)
    # and what ``except`` clauses written for the built-in kinds expect
    assert issubclass(UnknownWorkspace, LookupError) and issubclass(UnknownLead, LookupError)
    assert issubclass(UnusableValue, ValueError) and issubclass(InvalidConfiguration, ValueError)
    assert issubclass(InvalidArgument, ValueError) and issubclass(InvalidArgument, TypeError)


def test_arguments_of_the_wrong_kind(app: Leadkey) -> None:
    app.create_workspace("w")
    with pytest.raises(InvalidArgument, match="a workspace name is a string"):
        app.ingest(42, PHONE)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="batch_size"):
        list(app.ingest_many("w", [PHONE], batch_size=0))
    with pytest.raises(InvalidArgument, match="a source maps names"):
        app.ingest("w", PHONE, source={"line": [1]})
    with pytest.raises(PositionError):
        app.lookup("w", "9999999991", at=-1)
    with pytest.raises(PositionError):
        app.what_if("w", Switch(identifier="phone"), until=-1)
    with pytest.raises(InvalidArgument, match="a lead id is a UUID or its text"):
        app.lead(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a workspace name is a string"):
        app.create_workspace(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a workspace name is a string"):
        app.stored_index_differences(5)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="a store is given by its URL"):
        Leadkey(5)  # type: ignore[arg-type]
    assert app.workspace_info("w").leads == 0  # nothing was recorded


def test_configurations_refused(app: Leadkey) -> None:
    app.create_workspace("w")
    with pytest.raises(InvalidConfiguration, match="already exists"):
        app.create_workspace("w")
    with pytest.raises(InvalidConfiguration):
        app.create_workspace("x", country="XX")
    with pytest.raises(InvalidConfiguration):
        app.change_identifier("w", "no_such_field")
    with pytest.raises(StoreError):  # a store URL leadkey cannot use
        Leadkey("mysql://localhost/leads")
    with pytest.raises(InvalidConfiguration, match="cannot open the store") as caught:
        Leadkey("memory:", env={"COMPRESSOR_TOPIC": "no_such_module:compressor"})
    assert caught.value.__cause__ is not None  # eventsourcing's own error
    assert issubclass(StoreError, InvalidConfiguration)


def test_unknown_workspaces_and_leads(app: Leadkey) -> None:
    with pytest.raises(UnknownWorkspace):
        app.ingest("nope", PHONE)
    with pytest.raises(UnknownWorkspace):
        app.lookup("nope", "9999999991")
    with pytest.raises(UnknownWorkspace):
        app.configuration_history("nope")
    app.create_workspace("w")
    with pytest.raises(WorkspaceNotCreatedYet):
        app.lookup("w", "9999999991", at=0)
    for lead in (uuid4(), str(uuid4()), "not a lead id"):
        with pytest.raises(UnknownLead, match=f"unknown lead {lead}") as caught:
            app.lead(lead)
        assert caught.value.lead_id == lead
        with pytest.raises(UnknownLead):
            app.explain_lead(lead)


def test_unusable_values_and_what_ifs(app: Leadkey) -> None:
    app.create_workspace("w")
    with pytest.raises(UnusableLookup) as caught:
        app.lookup("w", "not a phone")
    assert isinstance(caught.value, UnusableValue) and caught.value.config.identifier == "phone"
    with pytest.raises(WhatIfError):
        app.what_if("w", Switch(identifier="fax"))


def test_a_conflict_that_keeps_recurring(app: Leadkey, monkeypatch: pytest.MonkeyPatch) -> None:
    app.create_workspace("w")

    def refused(events: object) -> None:
        raise IntegrityError("another writer got in first")

    monkeypatch.setattr(application, "MAX_ATTEMPTS", 3)
    monkeypatch.setattr(application, "_pause", lambda attempt: None)
    monkeypatch.setattr(app._index, "put", refused)
    with pytest.raises(ConcurrencyError):
        app.ingest("w", PHONE)
    with pytest.raises(ConcurrencyError):
        app.add_field("w", "city", "text")


def test_an_index_that_keeps_moving_under_a_new_workspace(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def behind(events: object) -> None:
        raise IndexBehind("another program wrote to the log")

    monkeypatch.setattr(application, "MAX_ATTEMPTS", 3)
    monkeypatch.setattr(app._index, "put", behind)
    with pytest.raises(ConcurrencyError, match="'w'"):
        app.create_workspace("w")


def test_a_closed_leadkey_is_unavailable(sqlite_url: str) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace("w")
    decisions = app.ingest_many("w", [PHONE, {"fields": {"phone": "9999999992"}}], batch_size=1)
    next(decisions)
    app.close()
    assert app.closed
    for call in (
        lambda: next(decisions),  # the next batch of an ingest_many under way
        lambda: app.lookup("w", "9999999991"),
        lambda: app.workspace_info("w"),
        lambda: app.ingest("w", PHONE),
    ):
        with pytest.raises(StoreUnavailable, match="closed"):
            call()
    app.close()  # again: nothing to do
    with Leadkey(sqlite_url) as again:
        assert again.workspace_info("w").leads == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens there once it is closed


def test_an_unreachable_postgres_fails_within_the_timeout() -> None:
    pytest.importorskip("psycopg")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot connect to PostgreSQL") as caught:
        Leadkey(f"postgresql://127.0.0.1:{_closed_port()}/test", connect_timeout=2)
    assert time.monotonic() - started < 5
    assert caught.value.__cause__ is not None  # the driver's own error


def test_a_read_only_store_asked_to_record_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    with Leadkey(url) as app:
        app.create_workspace("w")
    with Leadkey(url, read_only=True) as reader:
        with pytest.raises(StoreUnavailable, match="readonly") as caught:
            reader.ingest("w", PHONE)
        assert caught.value.__cause__ is not None
        assert reader.workspace_info("w").leads == 0
