"""Stores: SQLite restarts re-derive the same decisions, and the store (not a
process's memory) refuses a second lead for one key."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.adapters.durable_index import Matches
from leadkey.adapters.stores import StoreError, store_env
from leadkey.domain.decisions import Decision, Outcome
from leadkey.domain.lead import Lead
from leadkey.projections.identifier_index import index_at, read_log

NUMBERS = ["9999999991", "+91 99999 99991", "09999999992", "919999999993", "99999", ""]
EMAILS = ["a@x.com", " A@X.com", "b@x.com", "bad@", None]


def summary(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.outcome,
        decision.lead_id,
        decision.key,
        decision.reason,
        decision.applied,
        decision.rejected,
        decision.ignored,
    )


items = st.one_of(
    st.sampled_from(["switch-email", "switch-phone"]),
    st.builds(
        lambda phone, email, name: {
            "fields": {"phone": phone, "name": name} | ({"email": email} if email else {})
        },
        st.sampled_from(NUMBERS),
        st.sampled_from(EMAILS),
        st.sampled_from(["Ann", "Bo", 5]),
    ),
)


def run(app: Leadkey, stream: list[Any]) -> list[tuple[Any, ...]]:
    decisions = []
    for item in stream:
        if isinstance(item, str):
            target = item.removeprefix("switch-")
            if app.workspace("w").config.identifier != target:
                app.change_identifier("w", target)
        else:
            decisions.append(summary(app.ingest("w", item)))
    return decisions


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=st.lists(items, max_size=30), cut=st.integers(0, 30))
def test_sqlite_restart_gives_the_same_decisions(tmp_path: Path, stream: list, cut: int) -> None:
    reference = Leadkey("memory:")
    reference.create_workspace("w")
    expected = run(reference, stream)

    url = f"sqlite:///{tmp_path / f'restart-{abs(hash(str(stream)))}-{cut}.db'}"
    first = Leadkey(url)
    first.create_workspace("w")
    got = run(first, stream[:cut])
    first.close()
    second = Leadkey(url)  # start-up: the index is rebuilt from the file
    got += run(second, stream[cut:])
    assert got == expected
    live = second.workspace("w")
    rebuilt = index_at(second._log).view.workspace("w")
    assert (live.index, live.versions, live.candidates) == (
        rebuilt.index,
        rebuilt.versions,
        rebuilt.candidates,
    )
    second.close()


def test_a_stale_writer_is_refused_by_the_store_and_re_decides(sqlite_url: str) -> None:
    writer_a, writer_b = Leadkey(sqlite_url), Leadkey(sqlite_url)
    writer_a.create_workspace("w")
    stale = writer_b._index.state("w")  # what B read before A's lead was recorded
    created = writer_a.ingest("w", {"fields": {"phone": "9999999999", "name": "from A"}})

    fresh_state, fresh_matches = writer_b._index.state, writer_b._index.matches
    calls = Counter()

    def stale_first(name: str) -> Any:
        calls["state"] += 1
        return stale if calls["state"] == 1 else fresh_state(name)

    def nothing_first(state: Any, keys: Any) -> Any:
        calls["matches"] += 1
        return (
            Matches(state.config, state.sequence, {}, {})
            if calls["matches"] == 1
            else (fresh_matches(state, keys))
        )

    writer_b._index.state = stale_first  # type: ignore[method-assign]
    writer_b._index.matches = nothing_first  # type: ignore[method-assign]
    decision = writer_b.ingest("w", {"fields": {"phone": "+919999999999", "name": "from B"}})
    assert calls["state"] >= 2  # the store refused the duplicate; B re-decided
    assert decision.outcome is Outcome.UPDATED
    assert decision.lead_id == created.lead_id
    creations = [e for e, _ in read_log(writer_a._log) if isinstance(e, Lead.LeadCreated)]
    assert len(creations) == 1
    writer_a.close()
    writer_b.close()


def test_concurrent_writers_on_one_file_create_one_lead_per_key(sqlite_url: str) -> None:
    setup = Leadkey(sqlite_url)
    setup.create_workspace("w")
    numbers = [f"98765{n:05d}" for n in range(40)]
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        app = Leadkey(sqlite_url)
        try:
            stream = [{"fields": {"phone": numbers[(i + offset) % 40]}} for i in range(120)]
            for _ in app.ingest_many("w", stream, batch_size=7):
                pass
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            app.close()

    threads = [threading.Thread(target=writer, args=(k * 10,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    events = [e for e, _ in read_log(setup._log)]
    created = Counter(e.key for e in events if isinstance(e, Lead.LeadCreated))
    assert set(created) == {f"+91{n}" for n in numbers}
    assert set(created.values()) == {1}
    updates = sum(isinstance(e, Lead.LeadFieldsUpdated) for e in events)
    assert len(created) + updates == 4 * 120  # every payload: exactly one decision
    setup.close()


def test_store_urls() -> None:
    assert store_env("memory:")["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert store_env("sqlite:///x.db")["SQLITE_DBNAME"] == "x.db"
    postgres = store_env("postgresql://u:p@127.0.0.1:5433/test")
    assert (postgres["POSTGRES_HOST"], postgres["POSTGRES_PORT"]) == ("127.0.0.1", "5433")
    for bad in ("mysql://x", "sqlite:///", "sqlite:////no/such/folder/x.db", "postgresql://h"):
        with pytest.raises(StoreError):
            store_env(bad)


def test_decisions_survive_a_restart_on_sqlite(sqlite_url: str) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace("w")
    created = app.ingest("w", {"fields": {"phone": "9999999999", "name": "Jane"}})
    app.close()
    reopened = Leadkey(sqlite_url)
    lead = reopened.lookup("w", "+91 99999 99999")
    assert lead is not None and lead.lead_id == created.lead_id
    assert lead.fields == {"phone": "+919999999999", "name": "Jane"}
    reopened.close()


def test_a_batch_decided_under_a_changed_configuration_is_refused(sqlite_url: str) -> None:
    writer_a, writer_b = Leadkey(sqlite_url), Leadkey(sqlite_url)
    writer_a.create_workspace("w", country="IN")
    conclude = writer_b._conclude
    interleaved = []

    def a_gets_in_between(*args: Any) -> Any:
        result = conclude(*args)  # B has decided under generation 0 ...
        if not interleaved:  # ... and before B commits, A changes the country and ingests
            writer_a.change_country("w", "US")
            interleaved.append(writer_a.ingest("w", {"fields": {"phone": "+919999999999"}}))
        return result

    writer_b._conclude = a_gets_in_between  # type: ignore[method-assign]
    decision = writer_b.ingest("w", {"fields": {"phone": "+919999999999", "name": "B"}})
    assert (decision.outcome, decision.lead_id) == (Outcome.UPDATED, interleaved[0].lead_id)
    assert decision.config.generation == 1
    created = [e for e, _ in read_log(writer_a._log) if isinstance(e, Lead.LeadCreated)]
    assert len(created) == 1
    writer_a.close()
    writer_b.close()
