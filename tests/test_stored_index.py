"""The identifier index kept in the store: equal to a rebuild from the log after any
sequence of ingests, switches, restarts and failed transactions; read without the log;
distrusted, reported and rebuilt when damaged; on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from leadkey.adapters.application import Leadkey, UnknownWorkspace, UnusableLookup
from leadkey.adapters.durable_index import DurableIndex
from leadkey.adapters.stores import sqlite_file
from leadkey.domain.decisions import Outcome
from leadkey.domain.lead import Lead
from leadkey.projections.identifier_index import index_at, read_log

PHONES = ["9999999991", "+91 99999 99991", "09999999992", "2025550123", "99999", None]
EMAILS = ["a@x.com", " A@X.com", "b@x.com", "bad@", None]


def payload(phone: str | None, email: str | None, note: str = "") -> dict[str, Any]:
    fields = {"phone": phone, "email": email, "name": note}
    return {"fields": {k: v for k, v in fields.items() if v is not None}}


def outcomes(app: Leadkey, workspace: str, payloads: list[Any]) -> list[tuple[Any, ...]]:
    return [(d.outcome, d.lead_id, d.key) for d in app.ingest_many(workspace, payloads)]


def assert_stored_equals_rebuild(app: Leadkey, workspace: str) -> None:
    checked = app.stored_index_differences(workspace)
    assert checked is not None, "the store keeps no index"
    position, found = checked
    assert found == []
    assert position == (app._log.recorder.max_notification_id() or 0)


@contextmanager
def sql(url: str) -> Iterator[Any]:
    """A plain connection to the store, to damage it as a person or a backup could."""
    path = sqlite_file(url)
    if path is not None:
        connection = sqlite3.connect(path)
        try:
            yield connection
            connection.commit()
        finally:
            connection.close()
        return
    import psycopg

    base, _, schema = url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'SET search_path TO "{schema}"')
        yield connection


def events_table(url: str) -> tuple[str, str]:
    """The events table and its position column."""
    return ("stored_events", "rowid") if sqlite_file(url) else ("leadkey_events", "notification_id")


# -- reads ------------------------------------------------------------------------------


def test_a_lookup_that_a_switch_overtakes_is_made_again_under_the_new_identifier(
    durable_url: str,
) -> None:
    """The workspace read, then another process switches the identifier, then the index
    read: the key made under the old identifier is not looked up in the new index."""
    with Leadkey(durable_url) as server, Leadkey(durable_url) as admin:
        admin.create_workspace("w", fields={"name": "text", "company": "text"}, identifier="name")
        admin.ingest("w", {"fields": {"name": "acme", "company": "x"}})
        bob = admin.ingest("w", {"fields": {"name": "bob", "company": "ACME"}}).lead_id
        read_state = server._index.state
        stale = read_state("w")

        def state_then_switch(name: str) -> Any:
            server._index.state = read_state  # type: ignore[method-assign]
            admin.change_identifier("w", "company")
            return stale

        server._index.state = state_then_switch  # type: ignore[method-assign]
        found = server.find("w", "Acme")
        assert found.config.identifier == "company"
        assert found.lead is not None and found.lead.lead_id == bob


def test_a_new_process_reads_the_stored_index_not_the_log(durable_url: str) -> None:
    with Leadkey(durable_url) as writer:
        writer.create_workspace("w")
        created = outcomes(writer, "w", [payload(p, e) for p in PHONES for e in EMAILS])
    reader = Leadkey(durable_url, read_only=True)

    def no_log(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the log")

    reader._log.recorder.select_notifications = no_log  # type: ignore[method-assign]
    lead = reader.lookup("w", "+919999999991")
    assert lead is not None and lead.lead_id == created[0][1]
    assert lead.fields["email"] == "b@x.com"  # the last usable one sent for it
    assert reader.lookup("w", "9999999993") is None
    info = reader.workspace_info("w")
    assert (info.leads, info.indexed, info.config.identifier) == (3, 3, "phone")
    with pytest.raises(UnknownWorkspace):
        reader.workspace_info("nope")
    with pytest.raises(UnknownWorkspace):
        reader.lookup("nope", "9999999991")
    assert reader.index_repairs == []
    reader.close()


def test_a_switch_is_recorded_with_its_index_and_reported_like_the_rebuild(
    durable_url: str,
) -> None:
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
        outcomes(app, "w", [payload("9999999991", "a@x.com"), payload("9999999992", "A@x.com")])
        outcomes(app, "w", [payload("9999999993", None)])
        planned = app.change_identifier("w", "email", dry_run=True)
        assert app.workspace_info("w").config.identifier == "phone"  # a dry run records nothing
        report = app.change_identifier("w", "email")
        expected = index_at(app._log).view.workspace("w").report
        assert planned == report == expected
        assert report.indexed == 1 and len(report.collisions) == 1 and len(report.unreachable) == 1
        assert app.lookup("w", "A@X.COM").lead_id == report.collisions[0].winner  # type: ignore[union-attr]
        assert_stored_equals_rebuild(app, "w")
    with Leadkey(durable_url) as reopened:
        assert reopened.workspace_info("w").config.identifier == "email"
        assert reopened.lookup("w", "b@x.com") is None
        with pytest.raises(UnusableLookup):
            reopened.lookup("w", "9999999991")  # not an email


# -- any history: stored = rebuilt, decisions as if the process had never stopped --------


class StoredIndexMachine(RuleBasedStateMachine):
    """Ingests, switches of identifier and country, restarts and transactions that fail
    after the index was written: after each step the stored index equals a rebuild from
    the log, and every decision equals the one a process that never restarted (on the
    in-memory store) made."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.workspace = f"w-{uuid.uuid4().hex[:8]}"  # one store for every example
        self.app = Leadkey(url)
        self.app.create_workspace(self.workspace)
        self.reference = Leadkey("memory:")
        self.reference.create_workspace(self.workspace)

    @rule(
        items=st.lists(
            st.tuples(st.sampled_from(PHONES), st.sampled_from(EMAILS)), min_size=1, max_size=6
        ),
        batch=st.integers(1, 4),
    )
    def ingest(self, items: list[tuple[Any, Any]], batch: int) -> None:
        payloads = [payload(p, e, str(n)) for n, (p, e) in enumerate(items)]
        got = [
            (d.outcome, d.lead_id, d.key)
            for d in self.app.ingest_many(self.workspace, payloads, batch_size=batch)
        ]
        expected = outcomes(self.reference, self.workspace, payloads)
        assert [g[0] for g in got] == [e[0] for e in expected]
        assert [g[1:] for g in got if g[0] is not Outcome.DROPPED] == [
            e[1:] for e in expected if e[0] is not Outcome.DROPPED
        ]

    @rule(field=st.sampled_from(["phone", "email"]))
    def switch(self, field: str) -> None:
        if self.reference.workspace_info(self.workspace).config.identifier == field:
            return
        assert self.app.change_identifier(self.workspace, field) == (
            self.reference.change_identifier(self.workspace, field)
        )

    @rule(country=st.sampled_from(["IN", "US"]))
    def country(self, country: str) -> None:
        if self.reference.workspace_info(self.workspace).config.country == country:
            return
        assert self.app.change_country(self.workspace, country) == (
            self.reference.change_country(self.workspace, country)
        )

    @rule()
    def restart(self) -> None:
        self.app.close()
        self.app = Leadkey(self.url)
        assert self.app.index_repairs == []

    @rule(phone=st.sampled_from(PHONES[:4]))
    def fail_before_commit(self, phone: str) -> None:
        """The index is written, then the transaction fails: nothing of it stays."""
        recorder: Any = self.app._log.recorder
        write_index = recorder._insert_tracking

        def crash(*args: Any, **kwargs: Any) -> None:
            write_index(*args, **kwargs)
            raise OSError("the disk is full")

        recorder._insert_tracking = crash
        try:
            with pytest.raises(OSError, match="disk is full"):
                self.app.ingest(self.workspace, payload(phone, None))
        finally:
            recorder._insert_tracking = write_index

    @invariant()
    def stored_equals_rebuilt(self) -> None:
        assert_stored_equals_rebuild(self.app, self.workspace)

    def teardown(self) -> None:
        self.app.close()
        self.reference.close()


def test_any_history_keeps_the_stored_index_equal_to_a_rebuild(durable_url: str) -> None:
    run_state_machine_as_test(
        lambda: StoredIndexMachine(durable_url),
        settings=settings(
            max_examples=12,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- a stored index that cannot be trusted is found, reported and rebuilt ----------------


def damaged(durable_url: str, statements: list[str]) -> Leadkey:
    """A store with leads, damaged by ``statements``, then opened again."""
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
        outcomes(app, "w", [payload("9999999991", "a@x.com")])
        outcomes(app, "w", [payload("9999999992", "b@x.com")])
    with sql(durable_url) as connection:
        for statement in statements:
            connection.execute(statement)
    return Leadkey(durable_url)


@pytest.mark.parametrize(
    ("statements", "said"),
    [
        (["UPDATE leadkey_index_meta SET format = 99"], "was written in format 99"),
        (
            ["UPDATE leadkey_index_meta SET anchor = anchor || '0'"],
            "was built from another log",
        ),
        (
            ["UPDATE leadkey_index_meta SET anchor = '1' || anchor"],
            "its anchor is not for its position",
        ),
        (["DELETE FROM {tracking}"], "it holds rows but no position"),
        (["DELETE FROM {events} WHERE {position} > 4"], "is ahead of the log"),
        (
            [
                "DROP TABLE leadkey_index_keys",
                "CREATE TABLE leadkey_index_keys (workspace_id TEXT, lead_id TEXT NOT NULL)",
                "UPDATE leadkey_index_meta SET format = 1",
            ],
            "was written in format 1",
        ),
    ],
    ids=["format", "another log", "anchor", "no position", "ahead", "another layout"],
)
def test_a_damaged_stored_index_is_reported_and_rebuilt(
    durable_url: str, statements: list[str], said: str
) -> None:
    events, position = events_table(durable_url)
    tracking = "tracking" if sqlite_file(durable_url) else "leadkey_tracking"
    statements = [s.format(events=events, position=position, tracking=tracking) for s in statements]
    app = damaged(durable_url, statements)
    assert len(app.index_repairs) == 1 and said in app.index_repairs[0]
    assert app.index_repairs[0].endswith("rebuilt from the log")
    assert_stored_equals_rebuild(app, "w")
    expected = index_at(app._log).view.workspace("w")
    assert app.workspace("w").versions == expected.versions
    outcomes(app, "w", [payload("9999999993", None)])  # the tables take new rows
    assert_stored_equals_rebuild(app, "w")
    app.close()
    with Leadkey(durable_url) as again:
        assert again.index_repairs == []


def test_during_a_rebuild_others_read_the_index_as_it_was_or_wait(durable_url: str) -> None:
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
        [(_, lead, _)] = outcomes(app, "w", [payload("9999999991", None)])
    rebuilding, release = threading.Event(), threading.Event()
    builder = Leadkey(durable_url)
    durable = DurableIndex(builder._log)
    apply_log = durable._apply_log

    def slowly(*args: Any) -> int:
        rebuilding.set()
        release.wait(30)
        return apply_log(*args)

    durable._apply_log = slowly  # type: ignore[method-assign]
    errors: list[BaseException] = []
    found: list[Any] = []

    def run(step: Any) -> None:
        try:
            step()
        except BaseException as error:  # surfaced below
            errors.append(error)

    def look() -> None:
        with Leadkey(durable_url, read_only=True) as reader:
            found.append(reader.lookup("w", "9999999991"))

    rebuild = threading.Thread(target=run, args=(durable.rebuild,))
    rebuild.start()
    assert rebuilding.wait(30)
    looking = threading.Thread(target=run, args=(look,))
    looking.start()
    looking.join(0.5)  # SQLite answers from the tables as they were; PostgreSQL waits
    release.set()
    rebuild.join(30)
    looking.join(30)
    assert errors == []
    assert [f.lead_id for f in found] == [lead]
    assert_stored_equals_rebuild(builder, "w")
    builder.close()


def test_a_damaged_store_opened_read_only_is_read_from_the_log_and_left_alone(
    durable_url: str,
) -> None:
    app = damaged(durable_url, [])
    app.close()
    with sql(durable_url) as connection:
        connection.execute("UPDATE leadkey_index_meta SET format = 99")
    reader = Leadkey(durable_url, read_only=True)
    assert "was written in format 99" in reader.index_repairs[0]
    assert reader.index_repairs[0].endswith("read from the log instead")
    assert reader.lookup("w", "9999999992") is not None
    assert reader.stored_index_differences("w") is None  # not read: nothing compared
    reader.close()
    with sql(durable_url) as connection:
        rows = connection.execute("SELECT format FROM leadkey_index_meta").fetchall()
    assert [tuple(r) for r in rows] == [(99,)]


def test_an_altered_row_is_named_by_the_comparison_and_fixed_by_a_rebuild(
    durable_url: str,
) -> None:
    app = damaged(durable_url, ["UPDATE leadkey_index_leads SET version = 7"])
    assert app.index_repairs == []  # not seen at open: that would read every row
    position, found = app.stored_index_differences("w")  # type: ignore[misc]
    assert len(found) == 2 and all("version 7 stored, 1 in the log" in f for f in found)
    assert app.rebuild_stored_index() == position
    assert_stored_equals_rebuild(app, "w")
    app.close()


def test_a_missing_index_entry_is_named_by_its_key(durable_url: str) -> None:
    app = damaged(durable_url, ["DELETE FROM leadkey_index_matches WHERE key = '+919999999992'"])
    lead = app.lookup  # the stored index no longer reaches the lead
    assert lead("w", "9999999992") is None
    _, found = app.stored_index_differences("w")  # type: ignore[misc]
    [difference] = [f for f in found if f.startswith("key ")]
    assert difference.startswith("key '+919999999992' matches lead None stored, ")
    app.rebuild_stored_index()
    assert lead("w", "9999999992") is not None
    app.close()


def test_events_recorded_without_the_index_are_caught_up(durable_url: str) -> None:
    """An earlier leadkey (its recorder writes no index) records a lead; a process open
    meanwhile and a new process both see it."""
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
    current = Leadkey(durable_url)
    recorder = "eventsourcing.sqlite:SQLiteApplicationRecorder"
    if not sqlite_file(durable_url):
        recorder = "eventsourcing.postgres:PostgresApplicationRecorder"
    with Leadkey(durable_url, env={"APPLICATION_RECORDER_TOPIC": recorder}) as earlier:
        [(outcome, lead, _)] = outcomes(earlier, "w", [payload("9999999991", None)])
    assert outcome is Outcome.CREATED
    [(again, same, _)] = outcomes(current, "w", [payload("+919999999991", None)])
    assert (again, same) == (Outcome.UPDATED, lead)
    assert_stored_equals_rebuild(current, "w")
    current.close()
    with Leadkey(durable_url) as reopened:
        assert reopened.lookup("w", "9999999991").version == 2  # type: ignore[union-attr]


def test_recording_without_the_index_changes_is_refused(durable_url: str) -> None:
    with Leadkey(durable_url) as app:
        workspace = app.create_workspace("w")
        step = Lead.created  # any event would do: none is recorded without its index rows
        with pytest.raises(Exception, match="only with their index changes"):
            app._log.events.put([step(uuid.uuid4(), workspace.config.workspace_id, **RECORD)])
        assert len(list(read_log(app._log))) == 2


RECORD: dict[str, Any] = {
    "generation": 0,
    "key": "+919999999991",
    "identifier": "phone",
    "identifier_type": "phone",
    "country": "IN",
    "payload": "{}",
    "applied": {},
    "keys": {},
    "rejected": {},
    "ignored": [],
    "normalizer": "",
    "source": None,
}


def test_the_index_position_and_state_are_shown(durable_url: str) -> None:
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
        assert app.stored_index_status() == {"position": 2, "log": 2, "problem": None}
        assert DurableIndex(app._log).position() == 2


def test_a_writer_that_commits_during_the_check_at_open_is_not_taken_for_damage(
    durable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening reads the position and whether the tables hold rows as of one moment: a
    first workspace committed between the two reads is no index 'with rows but no
    position' (which would rebuild it under the writers' feet)."""
    with Leadkey(durable_url) as checker:
        durable = DurableIndex(checker._log)
        recorder = durable.recorder
        read_position = recorder._max_tracking_id

        def then_another_writer(*args: Any) -> Any:
            found = read_position(*args)
            with Leadkey(durable_url) as other:
                other.create_workspace("w")
            return found

        monkeypatch.setattr(recorder, "_max_tracking_id", then_another_writer)
        assert durable.problem() is None
        monkeypatch.undo()
        assert durable.problem() is None and durable.positions() == (2, 2)
