"""Replay and verify: the log re-derives every recorded decision, and a tampered
record is named.  Explain: each decision about a lead and each change of a workspace's
configuration, with the log position that explains it again."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mutation_gaps import without_time

from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import WORKSPACE_FIELDS, payload_streams
from leadkey.domain.errors import UnknownLead, UnknownWorkspace
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import Workspace, workspace_id
from leadkey.projections.audit import explain_lead, explain_position
from leadkey.projections.configuration import configuration_history
from leadkey.projections.identifier_index import read_log, read_notifications

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


# -- explain: any spelling of a lead id, positions from the recorder ------------------


def bare_copy(app: Leadkey) -> Application:
    """An in-memory eventsourcing ``Application`` (no leadkey method) holding ``app``'s
    log, at the same positions."""
    bare = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    bare.recorder.insert_events(list(read_notifications(app._log)))
    return bare


def lead_positions(app: Application, lead: UUID) -> list[int]:
    """The log positions of the lead's events, read from the whole log."""
    return [n.id for n in read_notifications(app) if n.originator_id == lead]


def test_explain_lead_reads_a_lead_id_in_any_spelling_uuid_does(app: Leadkey) -> None:
    app.create_workspace("w")
    lead = app.ingest("w", {"fields": {"phone": "9999999991"}}).lead_id
    assert lead is not None
    app.ingest("w", {"fields": {"phone": "09999999991", "name": "A"}})
    history = app.explain_lead(lead)
    spellings = [str(lead), str(lead).upper(), lead.urn, f"{{{lead}}}", lead.hex.upper()]
    for spelling in spellings:
        assert app.explain_lead(spelling) == history, spelling
    with pytest.raises(UnknownLead):
        app.explain_lead("not-a-uuid")


@settings(max_examples=25, deadline=None)
@given(stream=payload_streams("phone", max_size=20), plan=switches)
def test_each_position_explain_lead_gives_explains_that_decision(
    stream: list[Any], plan: list[tuple[int, str]]
) -> None:
    """On an application without leadkey's methods: the positions come from its recorder."""
    app = Leadkey("memory:")
    ingest_with_switches(app, stream, plan)
    bare = bare_copy(app)
    for lead in app.workspace("w").versions:
        history = explain_lead(bare, str(lead))
        assert [h.position for h in history] == lead_positions(bare, lead)
        assert all(h.recorded_at for h in history)
        assert [explain_position(bare, h.position) for h in history] == history


def test_explain_lead_on_sqlite_reads_positions_without_the_applications_help(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    with Leadkey(f"sqlite:///{path}") as app:
        app.create_workspace("w")
        lead = app.ingest("w", {"fields": {"phone": "9999999991"}}).lead_id
        app.ingest("w", {"fields": {"phone": "09999999991", "name": "A"}})
        expected = app.explain_lead(lead)
    bare = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
    assert lead is not None and not hasattr(bare, "event_positions")
    assert [h.position for h in expected] == lead_positions(bare, lead)
    assert explain_lead(bare, lead.urn) == expected


# -- explain: changes of a workspace's configuration -----------------------------------


def configured(app: Leadkey) -> dict[str, int]:
    """Workspace 'w' created, given a field, a new identifier and a new country (with
    a lead and another workspace in between); the position of each change by kind."""
    app.create_workspace("w", fields={"customer_id": "text"})
    app.ingest("w", {"fields": {"phone": "9999999991", "email": "a@example.com"}})
    app.create_workspace("other")
    app.add_field("w", "stars", "rating")
    app.change_identifier("w", "email")
    app.change_country("w", "US")
    kinds = {
        Workspace.WorkspaceCreated: "created",
        Workspace.FieldAdded: "field added",
        Workspace.IdentifierChanged: "identifier changed",
        Workspace.DefaultCountryChanged: "country changed",
    }
    return {
        kinds[type(event)]: position
        for event, position in read_log(app._log)
        if event.originator_id == workspace_id("w") and type(event) in kinds
    }


def test_explain_position_explains_each_change_of_the_configuration(app: Leadkey) -> None:
    at = configured(app)
    explained = {kind: app.explain_position(position) for kind, position in at.items()}
    dicts = {kind: item.as_dict() for kind, item in explained.items() if item is not None}
    assert all(json.loads(json.dumps(d)) == d for d in dicts.values())
    standard = {"name": "text", "phone": "phone", "email": "email", "customer_id": "text"}
    assert without_time(dicts["created"]) == {
        "position": at["created"],
        "workspace": "w",
        "kind": "created",
        "changes": {
            "identifier": {"before": None, "after": "phone"},
            "country": {"before": None, "after": "IN"},
            "timezone": {"before": None, "after": "UTC"},
            "generation": {"before": None, "after": 0},
            **{f"field:{f}": {"before": None, "after": t} for f, t in standard.items()},
        },
        "configuration": {
            "identifier": "phone",
            "identifier_type": "phone",
            "country": "IN",
            "generation": 0,
        },
    }
    changes = {kind: d["changes"] for kind, d in dicts.items() if kind != "created"}
    assert changes == {
        "field added": {"field:stars": {"before": None, "after": "rating"}},
        "identifier changed": {
            "identifier": {"before": "phone", "after": "email"},
            "generation": {"before": 0, "after": 1},
        },
        "country changed": {
            "country": {"before": "IN", "after": "US"},
            "generation": {"before": 1, "after": 2},
        },
    }
    assert [d["configuration"] for kind, d in dicts.items() if kind != "created"] == [
        {"identifier": "phone", "identifier_type": "phone", "country": "IN", "generation": 0},
        {"identifier": "email", "identifier_type": "email", "country": "IN", "generation": 1},
        {"identifier": "email", "identifier_type": "email", "country": "US", "generation": 2},
    ]
    assert [item.why() for item in explained.values() if item is not None] == [
        "workspace 'w' created with lead identifier 'phone' (phone) and default country IN, "
        "generation 0",
        "workspace 'w': field 'stars' added, of type rating",
        "workspace 'w': lead identifier changed from 'phone' to 'email' (email), starting "
        "generation 1: later payloads are matched by it",
        "workspace 'w': default country changed from IN to US, starting generation 2: later "
        "phone numbers without a country code are read in US",
    ]


def test_a_sequence_step_or_no_event_explains_nothing(app: Leadkey) -> None:
    configured(app)
    steps = [p for e, p in read_log(app._log) if isinstance(e, DecisionSequence.Stepped)]
    started = [p for e, p in read_log(app._log) if isinstance(e, DecisionSequence.SequenceStarted)]
    assert steps and started
    assert [app.explain_position(p) for p in steps + started] == [None] * len(steps + started)
    end = app._log.recorder.max_notification_id() or 0
    assert app.explain_position(0) is None and app.explain_position(end + 1) is None


def test_configuration_history_is_each_change_in_log_order(app: Leadkey) -> None:
    at = configured(app)
    history = app.configuration_history("w")
    assert [item.kind for item in history] == list(at)
    assert [item.position for item in history] == list(at.values())
    assert history == [app.explain_position(p) for p in at.values()]
    assert configuration_history(bare_copy(app), "w") == history
    [other] = app.configuration_history("other")
    assert (other.workspace, other.kind) == ("other", "created")


def test_configuration_history_reads_the_workspace_not_the_log(tmp_path: Path) -> None:
    with Leadkey(f"sqlite:///{tmp_path / 'store.db'}") as app:
        at = configured(app)

        def no_log(*_: object, **__: object) -> None:
            raise AssertionError("configuration_history read the log")

        app._log.recorder.select_notifications = no_log  # type: ignore[method-assign]
        history = app.configuration_history("w")
    assert [item.position for item in history] == list(at.values())


def test_configuration_history_of_an_unknown_workspace_is_a_lookup_error(app: Leadkey) -> None:
    configured(app)
    with pytest.raises(UnknownWorkspace, match="unknown workspace 'nope'") as caught:
        app.configuration_history("nope")
    assert isinstance(caught.value, LookupError) and caught.value.name == "nope"


def test_cli_explains_a_position_that_holds_a_configuration_change(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leadkey.adapters.cli import main

    store = f"sqlite:///{tmp_path / 'explain.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--store", store, "workspace", "create", "w"]).exit_code == 0
    assert runner.invoke(main, ["--store", store, "country", "set", "US", "-w", "w"]).exit_code == 0
    with Leadkey(store, read_only=True) as app:
        [changed] = [
            p for e, p in read_log(app._log) if isinstance(e, Workspace.DefaultCountryChanged)
        ]
    human = runner.invoke(main, ["--store", store, "explain", "--position", str(changed)])
    assert human.exit_code == 0
    assert human.stdout.splitlines() == [
        f"position {changed}: workspace 'w': default country changed from IN to US, starting "
        "generation 1: later phone numbers without a country code are read in US",
        "    country: 'IN' -> 'US'",
        "    generation: 0 -> 1",
    ]
    as_json = runner.invoke(main, ["--store", store, "explain", "--position", "1", "--json"])
    assert json.loads(as_json.stdout)["kind"] == "created"
    step = runner.invoke(main, ["--store", store, "explain", "--position", "2"])
    assert step.exit_code == 1
    assert "no decision or configuration change at position 2" in step.stderr
