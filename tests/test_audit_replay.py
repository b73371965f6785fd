"""Replay and verify: the log re-derives every recorded decision, and a tampered
record is named."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import WORKSPACE_FIELDS, payload_streams

switches = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(["email", "customer_id", "phone"])),
    max_size=3,
)


def ingest_with_switches(app: Leadkey, stream: list[Any], plan: list[tuple[int, str]]) -> None:
    app.create_workspace("w", fields=WORKSPACE_FIELDS)
    for n, payload in enumerate(stream):
        for at, field in plan:
            if at == n and app.workspace("w").config.identifier != field:
                app.change_identifier("w", field)
        app.ingest("w", payload)


@settings(max_examples=40, deadline=None)
@given(stream=payload_streams("phone", max_size=30), plan=switches)
def test_replay_re_derives_every_decision(stream: list[Any], plan: list[tuple[int, str]]) -> None:
    app = Leadkey("memory:")
    ingest_with_switches(app, stream, plan)
    report = app.replay("w")
    assert report.exact, report.as_dict()
    assert sum(report.decisions.values()) == len(stream)
    assert report.position == app._log.recorder.max_notification_id()


def test_replay_until_a_position_counts_only_what_came_before(app: Leadkey) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"phone": "9999999999"}})
    middle = app._log.recorder.max_notification_id()
    app.ingest("w", {"fields": {"phone": "+91 99999 99999"}})
    assert app.replay("w", until=middle).decisions == {"created": 1}
    assert app.replay("w").decisions == {"created": 1, "updated": 1}


NUMBERS = ["9999999991", "9999999992", "+91 99999 99991", "9999999993", "99999", "9999999992"]


@pytest.mark.parametrize("victim", range(len(NUMBERS)))
def test_a_tampered_decision_fails_verification_and_is_named(tmp_path: Path, victim: int) -> None:
    store = tmp_path / f"store-{victim}.db"
    store.unlink(missing_ok=True)
    app = Leadkey(f"sqlite:///{store}")
    app.create_workspace("w")
    positions = []
    for number in NUMBERS:
        app.ingest("w", {"fields": {"phone": number, "name": "n"}})
        positions.append(app._log.recorder.max_notification_id() - 1)  # the decision, not the step
    app.close()
    copy = tmp_path / f"copy-{victim}.db"
    shutil.copy(store, copy)
    with sqlite3.connect(copy) as db:  # an auditor's copy, altered by hand
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (positions[victim],)
        ).fetchone()
        tampered = (
            state.replace(b'"name":"n"', b'"name":"N"')
            .replace(b"identifier_missing", b"identifier_empty")
            .replace(b'"reason":"identifier_unusable"', b'"reason":"identifier_empty"')
        )
        assert tampered != state
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?", (tampered, positions[victim])
        )
    report = Leadkey(f"sqlite:///{copy}").replay("w")
    assert not report.verified
    assert [d.position for d in report.divergences] == [positions[victim]]
    assert report.divergences[0].kind == "log"


def test_a_tampered_key_is_named_as_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Leadkey(url) as app:
        app.create_workspace("w")
        app.ingest("w", {"fields": {"phone": "9999999991"}})
        created = app._log.recorder.max_notification_id() - 1
    with sqlite3.connect(tmp_path / "store.db") as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (created,)
        ).fetchone()
        tampered = state.replace(b'"key":"+919999999991"', b'"key":"+919999999990"')
        assert tampered != state
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (tampered, created))
    with Leadkey(url, read_only=True) as app:
        [divergence] = app.replay("w").divergences
    assert divergence.as_dict()["differences"] == {
        "key": {"recorded": "+919999999990", "replayed": "+919999999991"}
    }


def test_cli_replay_verify_exit_status(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leadkey.adapters.cli import main

    store = f"sqlite:///{tmp_path / 'cli.db'}"
    examples = Path(__file__).resolve().parent.parent / "examples" / "payloads.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["--store", store, "ingest", str(examples)]).exit_code == 0
    verified = runner.invoke(main, ["--store", store, "replay", "--verify"])
    assert verified.exit_code == 0 and "Every decision is re-derived" in verified.output
    with sqlite3.connect(tmp_path / "cli.db") as db:  # the first lead's key, altered
        rowid, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%LeadCreated' LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state.replace(b'"key":"+919', b'"key":"+918'), rowid),
        )
    failed = runner.invoke(main, ["--store", store, "replay", "--verify"])
    assert failed.exit_code == 1 and "not re-derived" in failed.output


def test_lookup_at_a_position_sees_the_identifier_index_and_fields_then(app: Leadkey) -> None:
    app.create_workspace("w")
    created = app.ingest("w", {"fields": {"phone": "9999999999", "name": "A", "email": "a@x.com"}})
    before = app._log.recorder.max_notification_id()
    app.ingest("w", {"fields": {"phone": "+91 99999 99999", "name": "B"}})
    app.change_identifier("w", "email")
    then = app.lookup("w", "09999999999", at=before)
    assert then is not None and then.lead_id == created.lead_id
    assert then.fields["name"] == "A"
    now = app.lookup("w", "A@X.com")
    assert now is not None and now.fields["name"] == "B"
    assert app.lookup("w", "9999999998", at=before) is None


def test_explain_a_lead_shows_each_decision_with_old_and_new_values(app: Leadkey) -> None:

    app.create_workspace("w")
    created = app.ingest("w", {"fields": {"phone": "9999999999", "name": "A"}}, source={"line": 1})
    app.ingest("w", {"fields": {"phone": "+91 99999 99999", "name": "B", "email": "bad@"}})
    app.ingest("w", {"fields": {"phone": "09999999999", "name": "B", "x": 1}})
    history = app.explain_lead(created.lead_id)
    assert [h.outcome for h in history] == ["created", "updated", "updated"]
    positions = [h.position for h in history]
    assert [app.explain_position(p) for p in positions] == history  # in memory too
    assert history[0].changes == {"phone": (None, "+919999999999"), "name": (None, "A")}
    assert history[0].source == {"line": 1}
    assert history[1].raw_identifier == "+91 99999 99999"
    assert history[1].changes == {"name": ("A", "B")} and "email" in history[1].rejected
    assert history[2].unchanged == ("name",) and "x" in history[2].ignored
    dropped = app.ingest("w", {"fields": {"name": "no phone"}})
    position = app._log.recorder.max_notification_id() - 1  # the decision; the batch step follows
    explained = app.explain_position(position)
    assert explained is not None and explained.reason == str(dropped.reason)
    assert "dropped" in explained.why()
    assert app.explain_position(app._log.recorder.max_notification_id()) is None  # a step


def test_cli_explain_and_lookup_at(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leadkey.adapters.cli import main

    store = f"sqlite:///{tmp_path / 'explain.db'}"
    examples = Path(__file__).resolve().parent.parent / "examples" / "payloads.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["--store", store, "ingest", str(examples)]).exit_code == 0
    line = runner.invoke(main, ["--store", store, "explain", "--line", "3"])
    assert line.exit_code == 0 and "line 3" in line.output and "updated lead" in line.output
    missing = runner.invoke(main, ["--store", store, "explain", "--position", "100000"])
    assert missing.exit_code == 1
    both = runner.invoke(main, ["--store", store, "explain", "--line", "3", "--position", "3"])
    assert both.exit_code == 2
    early = runner.invoke(main, ["--store", store, "lookup", "9999999999", "--at", "3", "--json"])
    assert early.exit_code == 0 and '"name": "Asha Rao"' in early.output
