"""Threads sharing one Leadkey: writers (ingest, submit, ingest_many) and readers together.

Whatever the interleaving: no exception, one decision per payload, one lead per key, and
a reader never misses a lead whose decision was already returned to a writer.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadkey import (
    MAX_POSITION,
    Decision,
    DecisionExplained,
    Leadkey,
    Outcome,
    StoreUnavailable,
    Submission,
    UnknownWorkspace,
)
from leadkey.adapters import group_commit
from leadkey.adapters.group_commit import GroupCommit

WS = "w"
#: Spellings of one Indian mobile number n (all key to +91 98 n).
SPELLINGS: tuple[Callable[[int], str], ...] = (
    lambda n: f"98{n:08d}",
    lambda n: f"+91 98{n:08d}",
    lambda n: f"0 98{n:08d}",
    lambda n: f"+91-98{n // 10000:04d}-{n % 10000:04d}",
)

#: One writer's share: (lead number, spelling, how it is sent).
shares = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 12),
            st.integers(0, len(SPELLINGS) - 1),
            st.sampled_from(["ingest", "submit", "batch"]),
        ),
        max_size=25,
    ),
    min_size=2,
    max_size=4,
)


def body(n: int, spelling: int, name: str) -> dict[str, Any]:
    return {"fields": {"phone": SPELLINGS[spelling](n), "name": name}}


def run_threads(app: Leadkey, plan: list[list[tuple[int, int, str]]]) -> list[Decision]:
    """Each share in a writer thread, two reader threads checking every returned decision."""
    returned: list[tuple[int, Decision]] = []
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write(share: list[tuple[int, int, str]], who: int) -> None:
        try:
            pending = []
            for step, (n, spelling, how) in enumerate(share):
                payload = body(n, spelling, f"{who}/{step}")
                if how == "ingest":
                    returned.append((n, app.ingest(WS, payload)))
                elif how == "submit":
                    pending.append((n, app.submit(WS, payload)))
                else:
                    [decision] = app.ingest_many(WS, [payload])
                    returned.append((n, decision))
            returned.extend((n, future.result()) for n, future in pending)
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        try:
            while writing.is_set() or returned:
                seen = list(returned)  # decisions already returned to their writers
                for n, decision in seen:
                    lead = app.lookup(WS, SPELLINGS[n % len(SPELLINGS)](n))
                    assert lead is not None, f"a returned decision's lead is missing: {n}"
                    assert lead.lead_id == decision.lead_id
                if not writing.is_set():
                    return
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(plan)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    for thread in readers:
        thread.join()
    assert errors == []
    return [decision for _, decision in returned]


def check(app: Leadkey, plan: list[list[tuple[int, int, str]]], decisions: list[Decision]) -> None:
    sent = [n for share in plan for n, _, _ in share]
    assert len(decisions) == len(sent)  # one decision per payload
    assert all(d.outcome is not Outcome.DROPPED for d in decisions)
    created = [d for d in decisions if d.outcome is Outcome.CREATED]
    assert len(created) == len(set(sent))  # one lead per key
    positions = [d.position for d in decisions]
    assert None not in positions and len(set(positions)) == len(positions)
    view = app.workspace(WS)
    assert len(view.versions) == len(set(sent))
    assert sum(view.versions.values()) == len(sent)
    assert app.replay(WS).exact


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=shares)
def test_writers_and_readers_share_one_leadkey_in_memory(
    plan: list[list[tuple[int, int, str]]],
) -> None:
    with Leadkey("memory:") as app:
        app.create_workspace(WS, fields={"name": "text"})
        check(app, plan, run_threads(app, plan))


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=shares)
def test_writers_and_readers_share_one_leadkey_on_a_store(
    durable_url: str, plan: list[list[tuple[int, int, str]]]
) -> None:
    with Leadkey(durable_url) as app:
        if not _exists(app):  # (the store is the test's: examples follow one another)
            app.create_workspace(WS, fields={"name": "text"})
        before = app.workspace_info(WS)
        decisions = run_threads(app, plan)
        sent = [n for share in plan for n, _, _ in share]
        assert len(decisions) == len(sent)
        by_key: dict[str, set[Any]] = {}
        for decision in decisions:
            assert decision.key is not None
            by_key.setdefault(decision.key, set()).add(decision.lead_id)
        assert all(len(leads) == 1 for leads in by_key.values())  # one lead per key
        after = app.workspace_info(WS)
        assert after.leads - before.leads == sum(d.outcome is Outcome.CREATED for d in decisions)
        assert app.replay(WS).exact


def _exists(app: Leadkey) -> bool:
    try:
        app.check_workspace(WS)
    except UnknownWorkspace:
        return False
    return True


def test_concurrent_submissions_share_a_transaction() -> None:
    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        futures = [app.submit(WS, body(n, 0, "x")) for n in range(200)]
        decisions = [future.result() for future in futures]
        positions = [d.position for d in decisions]
        assert positions == sorted(positions)  # in the order submitted
        # fewer steps of the decision sequence than payloads: batches were shared
        assert app.workspace(WS).sequence < 1 + len(decisions)


def test_a_submission_to_an_unknown_workspace_fails_alone() -> None:
    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        wrong = app.submit("nope", body(1, 0, "x"))
        right = app.submit(WS, body(1, 0, "x"))
        with pytest.raises(UnknownWorkspace):
            wrong.result()
        assert right.result().outcome is Outcome.CREATED


def test_closing_records_what_was_submitted(sqlite_url: str) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace(WS)
    futures = [app.submit(WS, body(n, 0, "x")) for n in range(50)]
    app.close()
    assert all(f.result().outcome is Outcome.CREATED for f in futures)
    with Leadkey(sqlite_url) as again:
        assert again.workspace_info(WS).leads == 50
    with pytest.raises(StoreUnavailable, match="closed"):
        app.submit(WS, body(1, 0, "x"))


def test_ingest_async_does_not_block_the_event_loop() -> None:
    async def main(app: Leadkey) -> list[Decision]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(tick())
        decisions = await asyncio.gather(
            *(app.ingest_async(WS, body(n, 1, "a")) for n in range(20))
        )
        ticking.cancel()
        assert ticks > 0  # the loop ran while the payloads were recorded
        return decisions

    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        decisions = asyncio.run(main(app))
        assert [d.outcome for d in decisions] == [Outcome.CREATED] * 20
        assert app.lookup(WS, SPELLINGS[0](7)) is not None


def test_reads_do_not_wait_for_a_write_transaction(durable_url: str) -> None:
    """While a writer holds the store's write transaction open, every kind of read
    answers (from its own snapshot) instead of queueing behind it."""
    with Leadkey(durable_url) as app:
        app.create_workspace(WS, fields={"name": "text"})
        decision = app.ingest(WS, body(1, 0, "x"))
        assert decision.lead_id is not None and decision.position is not None
        holding, release = threading.Event(), threading.Event()

        def hold_the_write_transaction() -> None:
            durable = app._index.durable  # type: ignore[attr-defined]
            with durable.recorder.datastore.transaction(commit=True) as cursor:
                durable.recorder.lock_log(cursor)  # as a writer does
                cursor.execute(durable.dialect.sql("DELETE FROM {meta} WHERE 1 = 0"))
                holding.set()
                release.wait(30)

        writer = threading.Thread(target=hold_the_write_transaction)
        writer.start()
        try:
            assert holding.wait(10)
            reads: list[Callable[[], object]] = [
                lambda: app.lookup(WS, SPELLINGS[1](1)),
                lambda: app.workspace_info(WS),
                lambda: app.workspace(WS),
                lambda: app.explain_lead(decision.lead_id),  # type: ignore[arg-type]
                lambda: app.explain_position(decision.position),  # type: ignore[arg-type]
                lambda: app.configuration_history(WS),
                lambda: app.lead(decision.lead_id),  # type: ignore[arg-type]
            ]
            for read in reads:
                started = time.monotonic()
                assert read() is not None
                assert time.monotonic() - started < 2, read
        finally:
            release.set()
            writer.join()


def test_a_callback_of_a_decision_may_ingest_again() -> None:
    """Callbacks of the futures run in the committing thread: an ingest from one is
    recorded there and then, not queued behind the thread that would wait for it."""
    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        followed: list[Decision] = []
        first = app.submit(WS, body(1, 0, "first"))
        first.add_done_callback(
            lambda _: followed.append(app.submit(WS, body(2, 0, "next")).result(timeout=5))
        )
        assert first.result().outcome is Outcome.CREATED
        deadline = time.monotonic() + 10
        while not followed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [d.outcome for d in followed] == [Outcome.CREATED]


def test_lookups_past_the_end_of_the_log_see_what_is_recorded_later() -> None:
    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        assert app.lookup(WS, SPELLINGS[0](1), at=MAX_POSITION) is None
        decision = app.ingest(WS, body(1, 0, "x"))
        found = app.lookup(WS, SPELLINGS[1](1), at=MAX_POSITION)
        assert found is not None and found.lead_id == decision.lead_id


def test_a_payload_is_read_when_it_is_submitted() -> None:
    """A caller may reuse its payload and source once ``submit`` returns."""
    with Leadkey("memory:") as app:
        app.create_workspace(WS, fields={"name": "text"})
        futures = []
        for n in range(50):
            payload, source = body(n, 0, "as sent"), {"line": n}
            futures.append(app.submit(WS, payload, source=source))
            payload["fields"]["name"] = "changed later"
            source["line"] = -1
        for n, future in enumerate(futures):
            decision = future.result()
            explained = app.explain_position(decision.position)  # type: ignore[arg-type]
            assert isinstance(explained, DecisionExplained)
            assert explained.source == {"line": n}
            assert app.lead(decision.lead_id).fields["name"] == "as sent"  # type: ignore[arg-type]


def _gathered(record_first: Callable[[], None]) -> tuple[GroupCommit, list[tuple[Any, ...]]]:
    """A GroupCommit whose first batch waits for ``record_first``, while more gather;
    each payload's decision is its text, and each batch is noted."""
    batches: list[tuple[Any, ...]] = []

    def record(workspace: str, submissions: Any, texts: Any, drop_unknown: bool) -> Any:
        if not batches:
            record_first()
        batches.append((workspace, list(texts), drop_unknown))
        return list(texts)

    return GroupCommit(record), batches


def test_group_commit_keeps_each_workspace_in_the_order_submitted() -> None:
    gate = threading.Event()
    group, batches = _gathered(lambda: gate.wait(10))
    sent = [("a", "0", False), ("a", "1", False), ("b", "1", False), ("a", "2", True)]
    sent += [("a", "3", False), ("b", "2", True), ("a", "4", False)]
    futures = [group.submit(ws, Submission(text), text, drop) for ws, text, drop in sent]
    gate.set()
    assert [f.result(timeout=10) for f in futures] == [text for _, text, _ in sent]
    group.close()
    recorded = {ws: [t for w, texts, _ in batches if w == ws for t in texts] for ws in "ab"}
    assert recorded == {"a": ["0", "1", "2", "3", "4"], "b": ["1", "2"]}
    flags = {(w, t): drop for w, texts, drop in batches for t in texts}
    assert flags == {(ws, text): drop for ws, text, drop in sent}


def test_a_batch_that_goes_wrong_fails_its_callers_and_not_the_next() -> None:
    calls = []

    def record(workspace: str, submissions: Any, texts: Any, drop_unknown: bool) -> Any:
        calls.append(texts)
        return [] if len(calls) == 1 else list(texts)  # the first batch: no decisions

    group = GroupCommit(record)
    with pytest.raises(StoreUnavailable, match="not recorded"):
        group.submit(WS, Submission("x"), "x", False).result(timeout=10)
    assert group.submit(WS, Submission("y"), "y", False).result(timeout=10) == "y"
    group.close()


def test_the_committing_thread_stops_when_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_commit, "IDLE", 0.05)

    def committing() -> bool:
        return any(t.name == "leadkey-group-commit" for t in threading.enumerate())

    app = Leadkey("memory:")
    app.create_workspace(WS)
    for round_ in range(2):  # and starts again
        assert app.ingest(WS, body(round_, 0, "x")).outcome is Outcome.CREATED
        deadline = time.monotonic() + 10
        while committing() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not committing()
    left = weakref.ref(app)
    del app
    gc.collect()
    assert left() is None  # no thread holds on to an instance its owner dropped


def test_a_callback_of_a_decision_may_close() -> None:
    app = Leadkey("memory:")
    app.create_workspace(WS)
    first = app.submit(WS, body(1, 0, "x"))
    first.add_done_callback(lambda _: app.close())
    assert first.result(timeout=10).outcome is Outcome.CREATED
    deadline = time.monotonic() + 10
    while not app.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(StoreUnavailable, match="closed"):
        app.submit(WS, body(2, 0, "x"))


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads take turns as often as the interpreter lets them."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_switches")
def test_whole_workspace_reads_while_an_in_memory_index_grows() -> None:
    """Views and switch plans go through every lead: they copy under the index's lock,
    never through dicts a writer is changing."""
    with Leadkey("memory:") as app:
        app.create_workspace(WS, fields={"email": "email"})
        done = threading.Event()
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for n in range(300):
                    payload = {"fields": {"phone": SPELLINGS[0](n), "email": f"{n}@x.in"}}
                    list(app.ingest_many(WS, [payload]))
            except BaseException as error:
                errors.append(error)
            finally:
                done.set()

        writer = threading.Thread(target=write)
        writer.start()
        reads = 0
        while not done.is_set():
            view = app.workspace(WS)
            assert len(view.index) == len(view.versions)
            app.change_identifier(WS, "email", dry_run=True)
            reads += 1
        writer.join()
        assert errors == [] and reads > 0
