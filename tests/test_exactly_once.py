"""Exactly once: idempotency keys for single payloads, and inputs that resume.

A payload retried under its key is the same payload: the first decision comes back and
nothing new is recorded, in one process or across processes (the store holds the key).
An ingest of a file run again after an interruption records each line once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import IntegrityError
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey import (
    ConcurrencyError,
    InvalidArgument,
    KeyReused,
    Leadkey,
    LeadkeyError,
    Outcome,
    Submission,
)
from leadkey.adapters.cli import main
from leadkey.domain.lead import DECISION_EVENTS
from leadkey.projections.identifier_index import read_log

WS = "w"


def body(n: int, name: str = "x") -> dict[str, Any]:
    return {"fields": {"phone": f"98{n:08d}", "name": name}}


def recorded_decisions(app: Leadkey) -> list[Any]:
    return [event for event, _ in read_log(app._log) if isinstance(event, DECISION_EVENTS)]


def together(target: Any, count: int) -> None:
    """Run ``target`` in ``count`` threads at once; return when all have ended."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def log_length(app: Leadkey) -> int:
    return app._log.recorder.max_notification_id() or 0


# -- idempotency keys --------------------------------------------------------------------


def test_a_retry_under_its_key_is_answered_with_the_first_decision(app: Leadkey) -> None:
    app.create_workspace(WS)
    first = app.ingest(WS, body(1), key="order-1")
    length = log_length(app)
    again = app.ingest(WS, body(1), key="order-1")
    assert again.repeated and not first.repeated
    assert (again.outcome, again.lead_id, again.key) == (first.outcome, first.lead_id, first.key)
    assert (again.position, again.recorded_at) == (first.position, first.recorded_at)
    assert again.as_dict()["repeated"] is True
    assert log_length(app) == length  # nothing recorded
    other = app.ingest(WS, body(1), key="order-2")  # same payload, another key: another one
    assert other.outcome is Outcome.UPDATED and not other.repeated


def test_a_repeated_drop_keeps_its_reason(app: Leadkey) -> None:
    app.create_workspace(WS)
    first = app.ingest(WS, {"fields": {"name": "no phone"}}, key="k")
    again = app.ingest(WS, {"fields": {"name": "no phone"}}, key="k")
    assert first.outcome is Outcome.DROPPED and again.repeated
    assert (again.reason, again.message, again.position) == (
        first.reason,
        first.message,
        first.position,
    )


def test_another_payload_under_a_key_in_use_is_refused(app: Leadkey) -> None:
    app.create_workspace(WS)
    app.ingest(WS, body(1), key="k")
    length = log_length(app)
    with pytest.raises(KeyReused, match="'k'") as caught:
        app.ingest(WS, body(2), key="k")
    assert caught.value.key == "k" and isinstance(caught.value, ValueError)
    assert log_length(app) == length
    assert app.lookup(WS, "9800000002") is None


def test_keys_belong_to_a_workspace(app: Leadkey) -> None:
    app.create_workspace(WS)
    app.create_workspace("v")
    assert not app.ingest("v", body(1), key="k").repeated
    assert not app.ingest(WS, body(2), key="k").repeated


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é", 5])
def test_keys_that_cannot_be_keys(app: Leadkey, key: Any) -> None:
    app.create_workspace(WS)
    with pytest.raises(InvalidArgument, match="idempotency key"):
        app.ingest(WS, body(1), key=key)
    assert app.workspace_info(WS).leads == 0


def test_a_key_past_its_lifetime_takes_a_new_payload(sqlite_url: str) -> None:
    with Leadkey(sqlite_url, key_lifetime=timedelta(0)) as app:
        app.create_workspace(WS)
        first = app.ingest(WS, body(1), key="k")
        second = app.ingest(WS, body(1, "later"), key="k")
        assert not second.repeated and second.position != first.position
        assert app.lookup(WS, "9800000001").fields["name"] == "later"  # type: ignore[union-attr]
    with Leadkey(sqlite_url) as app:  # a day's lifetime: the second holds the key now
        assert app.ingest(WS, body(1, "later"), key="k").position == second.position
        with pytest.raises(KeyReused):
            app.ingest(WS, body(1), key="k")


def test_keys_within_one_batch(app: Leadkey) -> None:
    app.create_workspace(WS)
    batch = [
        Submission(body(1), key="a"),
        Submission(body(1), key="a"),
        Submission(body(2), key="b"),
    ]
    decisions = list(app.ingest_many(WS, batch))
    assert [d.repeated for d in decisions] == [False, True, False]
    assert decisions[0].position == decisions[1].position
    length = log_length(app)
    with pytest.raises(KeyReused):  # the batch is refused whole
        list(app.ingest_many(WS, [Submission(body(3), key="c"), Submission(body(4), key="a")]))
    assert log_length(app) == length


def test_a_refused_submission_fails_alone(app: Leadkey) -> None:
    app.create_workspace(WS)
    app.ingest(WS, body(1), key="k")
    futures = [app.submit(WS, body(2), key="k"), app.submit(WS, body(3), key="j")]
    with pytest.raises(KeyReused):
        futures[0].result(timeout=10)
    assert futures[1].result(timeout=10).outcome is Outcome.CREATED


def test_one_decision_per_key_across_processes(durable_url: str) -> None:
    """Writers that share nothing but the store, retrying the same keys at once."""
    with Leadkey(durable_url) as setup:
        setup.create_workspace(WS)
    answers: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer() -> None:
        try:
            with Leadkey(durable_url) as app:  # its own memory, its own connections
                start.wait()
                for n in range(15):
                    answers.append((n, app.ingest(WS, body(n), key=f"key-{n}")))
        except BaseException as error:
            errors.append(error)

    together(writer, 4)
    assert errors == []
    first = Counter(n for n, decision in answers if not decision.repeated)
    assert first == Counter(range(15))  # one decision per key, the rest repeats of it
    positions = {n: {d.position for m, d in answers if m == n} for n in range(15)}
    assert all(len(found) == 1 for found in positions.values())
    with Leadkey(durable_url) as app:
        assert len(recorded_decisions(app)) == 15
        assert app.replay(WS).exact
        assert app.stored_index_differences(WS) == (log_length(app), [])


# -- inputs that resume --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(1, 30),
    batch_size=st.integers(1, 8),
    taken=st.integers(0, 30),
)
def test_an_interrupted_input_resumes_where_it_stopped(
    count: int, batch_size: int, taken: int
) -> None:
    payloads = [body(n % 7, f"v{n}") for n in range(count)]
    with Leadkey("memory:") as app:
        app.create_workspace(WS)
        first = app.ingest_many(WS, payloads, batch_size=batch_size, input_id="in")
        for _ in zip(range(taken), first, strict=False):
            pass
        first.close()  # interrupted: what its batches recorded stays
        done = app.input_progress(WS, "in")
        assert done % batch_size == 0 or done == count
        rest = list(app.ingest_many(WS, payloads, batch_size=batch_size, input_id="in"))
        assert len(rest) == count - done
        assert app.input_progress(WS, "in") == count
        assert list(app.ingest_many(WS, payloads, input_id="in")) == []
        recorded = [e.payload for e in recorded_decisions(app)]
        assert recorded == [json.dumps(p, ensure_ascii=False) for p in payloads]
        assert app.replay(WS).exact


def test_a_start_that_is_not_the_recorded_progress_is_refused(app: Leadkey) -> None:
    app.create_workspace(WS)
    list(app.ingest_many(WS, [body(1), body(2)], input_id="in"))
    with pytest.raises(ConcurrencyError, match="2 payloads of input 'in' are recorded, not 1"):
        list(app.ingest_many(WS, [body(2)], input_id="in", start=1))
    [decision] = app.ingest_many(WS, [body(3)], input_id="in", start=2)
    assert decision.outcome is Outcome.CREATED


def test_two_runs_of_one_input_record_it_once(sqlite_url: str) -> None:
    payloads = [body(n) for n in range(200)]
    with Leadkey(sqlite_url) as setup:
        setup.create_workspace(WS)
    stopped: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        with Leadkey(sqlite_url) as app:
            start.wait()
            try:
                list(app.ingest_many(WS, payloads, batch_size=10, input_id="in"))
            except ConcurrencyError as error:
                stopped.append(error)

    together(run, 2)
    with Leadkey(sqlite_url) as app:
        if app.input_progress(WS, "in") < 200:  # both stopped: a third run finishes it
            list(app.ingest_many(WS, payloads, batch_size=10, input_id="in"))
        assert len(recorded_decisions(app)) == 200
        assert app.workspace_info(WS).leads == 200
    assert all("another run is recording input 'in'" in str(e) for e in stopped)


# -- the CLI -------------------------------------------------------------------------------


def cli(store: str, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--store", store, *args], env={"LEADKEY_STORE": None})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def lines_recorded(store: str, name: str) -> Counter[int]:
    with Leadkey(store) as app:
        return Counter(
            e.source["line"]
            for e in recorded_decisions(app)
            if e.source and e.source.get("file") == name
        )


def test_ingest_run_again_records_nothing_new(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'leads.db'}"
    data = tmp_path / "leads.jsonl"
    data.write_text("".join(f'{{"fields": {{"phone": "98{n:08d}"}}}}\n\n' for n in range(5)))
    cli(store, "ingest", str(data))
    again = cli(store, "ingest", str(data))
    assert "Nothing new: all 5 payloads" in again.stdout
    assert lines_recorded(store, str(data)) == Counter({1: 1, 3: 1, 5: 1, 7: 1, 9: 1})
    forced = cli(store, "ingest", str(data), "--again")
    assert "Ingested 5 payloads" in forced.stdout
    changed = tmp_path / "changed.jsonl"  # other content: another input
    data.write_text(data.read_text() + '{"fields": {"phone": "9811111111"}}\n')
    os.replace(data, changed)
    assert "Ingested 6 payloads" in cli(store, "ingest", str(changed)).stdout


def test_ingest_killed_and_run_again_records_each_line_once(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'leads.db'}"
    data = tmp_path / "big.jsonl"
    count = 20_000
    data.write_text("".join(f'{{"fields": {{"phone": "98{n:08d}"}}}}\n' for n in range(count)))
    command = [sys.executable, "-m", "leadkey.adapters.cli", "--store", store, "ingest"]
    process = subprocess.Popen(
        [*command, str(data), "--batch-size", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _some_recorded(store):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    before = sum(lines_recorded(store, str(data)).values())
    assert 0 < before < count, "the run was not interrupted mid-way"
    done = subprocess.run(
        [*command, str(data)], capture_output=True, text=True, timeout=300, check=True
    )
    assert f"skipped {before} payloads" in done.stderr
    assert lines_recorded(store, str(data)) == Counter(range(1, count + 1))


def _some_recorded(store: str) -> bool:
    path = store.removeprefix("sqlite:///")
    if not os.path.exists(path):
        return False
    try:
        with Leadkey(store, read_only=True) as app:
            return log_length(app) > 2000
    except LeadkeyError:  # (the first run is still creating the tables)
        return False


def test_an_input_goes_on_after_a_conflict_of_another_writer(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch refused for another reason (another writer's lead, key, or index) is
    decided again: only another run of the same input stops this one."""
    app.create_workspace(WS)
    put, refused = app._index.put, []

    def refuse_once(events: Any) -> Any:
        if not refused:
            refused.append(True)
            raise IntegrityError("another writer got in first")
        return put(events)

    monkeypatch.setattr(app._index, "put", refuse_once)
    decisions = list(app.ingest_many(WS, [body(1), body(2)], input_id="in"))
    assert refused and [d.outcome for d in decisions] == [Outcome.CREATED] * 2
    assert app.input_progress(WS, "in") == 2
