"""What-if: a workspace's recorded payloads replayed under other identifier settings.

Properties: the switches that actually happened give back the log (an identical
report); a what-if is a pure function of the log and writes nothing; a what-if with
email from the start agrees with a plain model (one lead per normalized email, every
payload without a usable email dropped); a what-if decides as a store that made those
switches did.  Examples, computed by hand: merges, splits, leads that would not
exist, new leads, a switch part-way through the log, keeping the identifier the log
switched away from, another default country, ``until`` and the errors.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import WORKSPACE_FIELDS, payload_streams
from leadkey.domain.decisions import Decision, Outcome
from leadkey.domain.lead import DECISION_EVENTS, DroppedPayload, Lead, lead_id
from leadkey.domain.normalization import UnusableValue, email_key
from leadkey.domain.workspace import Workspace, workspace_id
from leadkey.projections.identifier_index import Collision, RebuildReport, read_log
from leadkey.projections.what_if import Merge, Split, Switch, WhatIfError, WhatIfReport

WS = "w"
IDENTIFIERS = ("phone", "email", "customer_id")
COUNTRIES = ("IN", "US", "GB")

# -- glue: random streams with random changes of the identifier and default country --

#: ``(before payload n, setting)``: an identifier field by name or a default country.
change_plans = st.lists(
    st.tuples(st.integers(0, 25), st.sampled_from(IDENTIFIERS + COUNTRIES)), max_size=4
)
#: Switches a what-if may try, anywhere in (or after) a short log.
what_if_switches = st.lists(
    st.builds(
        Switch,
        identifier=st.sampled_from((None, *IDENTIFIERS)),
        country=st.sampled_from((None, *COUNTRIES)),
        position=st.integers(0, 90),
    ),
    max_size=3,
)


def change(app: Leadkey, setting: str) -> RebuildReport | None:
    """Make ``setting`` the identifier (or default country) unless it already is."""
    config = app.workspace(WS).config
    if setting in COUNTRIES:
        return None if config.country == setting else app.change_country(WS, setting)
    return None if config.identifier == setting else app.change_identifier(WS, setting)


def ingest_with_changes(
    app: Leadkey, stream: list[Any], plan: list[tuple[int, str]], batch_size: int = 1
) -> list[RebuildReport]:
    """Ingest ``stream`` into :data:`WS` with each planned change made just before its
    payload; return the rebuild reports of the changes the app made."""
    reports = []
    done = 0
    for at in sorted({at for at, _ in plan if at < len(stream)}):
        list(app.ingest_many(WS, stream[done:at], batch_size=batch_size))
        done = at
        for when, setting in plan:
            if when == at and (report := change(app, setting)) is not None:
                reports.append(report)
    list(app.ingest_many(WS, stream[done:], batch_size=batch_size))
    return reports


def as_switch(event: Any, position: int) -> Switch | None:
    """The switch that puts a logged change of the identifier or country in force."""
    if isinstance(event, Workspace.IdentifierChanged):
        return Switch(identifier=event.new_field, position=position)
    if isinstance(event, Workspace.DefaultCountryChanged):
        return Switch(country=event.new_country, position=position)
    return None


def logged_switches(app: Leadkey) -> list[Switch]:
    """One switch per change of the identifier or default country, at its log position."""
    return [s for e, p in read_log(app._log) if (s := as_switch(e, p)) is not None]


def decisions(app: Leadkey, until: int | None = None) -> list[tuple[Any, int]]:
    """The recorded decisions of :data:`WS` with their log positions."""
    wanted = workspace_id(WS)
    return [
        (event, position)
        for event, position in read_log(app._log, stop=until)
        if isinstance(event, DECISION_EVENTS) and event.workspace_id == wanted
    ]


def actual_lead(event: Any) -> UUID | None:
    return None if isinstance(event, DroppedPayload.PayloadDropped) else event.originator_id


def recorded(event: Any) -> tuple[str, UUID | None, str | None]:
    """A recorded decision as ``(outcome, lead, key)``."""
    if isinstance(event, DroppedPayload.PayloadDropped):
        return "dropped", None, None
    outcome = "created" if isinstance(event, Lead.LeadCreated) else "updated"
    return outcome, event.originator_id, event.key


def store_state(app: Leadkey) -> tuple[Any, ...]:
    """Everything in the store and the app's own index, to compare before/after."""
    notifications = tuple(
        (n.id, n.originator_id, n.originator_version, n.topic, n.state)
        for n in app._log.recorder.select_notifications(start=1, limit=1_000_000)
    )
    ws = app.workspace(WS)
    index = (ws.config, dict(ws.index), dict(ws.versions))
    return app._log.recorder.max_notification_id(), notifications, index, app.replay(WS).exact


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of the SQLite database and its write-ahead log (the shared-memory index
    ``-shm`` is rewritten by readers, so it is left out)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if not path.name.endswith("-shm")
    }


def usable_email(body: Any) -> str | None:
    """The model: the normalized email a payload is matched by under email, if any."""
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict) or not isinstance(body.get("actions", []), list):
        return None
    try:
        return email_key(fields.get("email")).key
    except UnusableValue:
        return None


def assert_identical(report: WhatIfReport, payloads: int) -> None:
    assert report.identical, report.as_dict()
    assert (report.changes, report.merges, report.splits, report.unreachable) == ((), (), (), ())
    assert (report.not_created, report.new_leads) == ((), ())
    assert report.payloads == payloads and report.keys_changed == 0
    assert report.leads == report.actual_leads


# -- helpers for the examples ----------------------------------------------------------


def workspace(**options: Any) -> Leadkey:
    app = Leadkey("memory:")
    app.create_workspace(WS, **options)
    return app


def send(
    app: Leadkey, *, source: dict[str, Any] | None = None, **fields: Any
) -> tuple[Decision, int]:
    """Ingest ``{"fields": fields}``; return the decision and its log position."""
    before = app._log.recorder.max_notification_id() or 0
    decision = app.ingest(WS, {"fields": fields}, source=source)
    [position] = [p for e, p in read_log(app._log, after=before) if isinstance(e, DECISION_EVENTS)]
    return decision, position


def next_position(app: Leadkey) -> int:
    return (app._log.recorder.max_notification_id() or 0) + 1


def email_lead(key: str, generation: int = 0) -> UUID:
    """The id the store derives for a lead created under email with that key."""
    return lead_id(workspace_id(WS), generation, key)


def kinds(report: WhatIfReport) -> dict[int, str]:
    return {change.position: change.kind for change in report.changes}


# -- A. properties ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    stream=payload_streams("phone", max_size=25),
    plan=change_plans,
    batch_size=st.integers(1, 4),
)
def test_the_switches_that_happened_give_back_the_log(
    stream: list[Any], plan: list[tuple[int, str]], batch_size: int
) -> None:
    app = Leadkey("memory:")
    app.create_workspace(WS, fields=WORKSPACE_FIELDS)
    rebuilt = ingest_with_changes(app, stream, plan, batch_size)
    switches = logged_switches(app)
    assert len(switches) == len(rebuilt)
    report = app.what_if(WS, switches)
    assert_identical(report, payloads=len(decisions(app)))
    assert report.payloads == len(stream)
    assert report.position == app._log.recorder.max_notification_id()
    assert list(report.rebuilds) == rebuilt  # each switch rebuilds as the app did
    # the same settings restated from the creation on change nothing either
    restated = app.what_if(WS, [Switch(identifier="phone", country="IN"), *switches])
    assert_identical(restated, payloads=len(stream))


@settings(max_examples=30, deadline=None)
@given(identifier=st.sampled_from(IDENTIFIERS), data=st.data())
def test_the_creation_identifier_from_the_start_is_identical_when_nothing_switched(
    identifier: str, data: st.DataObject
) -> None:
    stream = data.draw(payload_streams(identifier, max_size=20))
    app = Leadkey("memory:")
    app.create_workspace(WS, identifier=identifier, fields=WORKSPACE_FIELDS)
    list(app.ingest_many(WS, stream, batch_size=data.draw(st.integers(1, 4))))
    assert_identical(app.what_if(WS, Switch(identifier=identifier, position=0)), len(stream))
    assert_identical(app.what_if(WS, [Switch(country="IN")]), len(stream))
    assert_identical(app.what_if(WS, []), len(stream))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@settings(max_examples=20, deadline=None)
@given(
    stream=payload_streams("phone", max_size=15),
    plan=change_plans,
    switches=what_if_switches,
    until=st.one_of(st.none(), st.integers(3, 90)),
)
def test_a_what_if_is_a_pure_function_of_the_log(
    store: str,
    stream: list[Any],
    plan: list[tuple[int, str]],
    switches: list[Switch],
    until: int | None,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = Leadkey("memory:" if store == "memory" else f"sqlite:///{Path(folder) / 'w.db'}")
        try:
            app.create_workspace(WS, fields=WORKSPACE_FIELDS)
            ingest_with_changes(app, stream, plan, batch_size=3)
            before, files = store_state(app), file_digests(Path(folder))
            assert before[-1]  # the log verifies to begin with
            first = app.what_if(WS, switches, until=until).as_dict()
            second = app.what_if(WS, switches, until=until).as_dict()
            assert first == second
            json.dumps(first)  # JSON-ready, as the command line prints it
            assert store_state(app) == before
            assert file_digests(Path(folder)) == files
        finally:
            app.close()


@settings(max_examples=80, deadline=None)
@given(stream=payload_streams("phone", max_size=25), batch_size=st.integers(1, 4))
def test_email_from_the_start_agrees_with_a_model_of_one_lead_per_email(
    stream: list[Any], batch_size: int
) -> None:
    app = Leadkey("memory:")
    app.create_workspace(WS, fields=WORKSPACE_FIELDS)
    list(app.ingest_many(WS, stream, batch_size=batch_size))
    report = app.what_if(WS, Switch(identifier="email", position=0))
    logged = decisions(app)
    keys = [usable_email(body) for body in stream]
    assert report.payloads == len(logged) == len(stream)

    # one what-if lead per distinct normalized email
    assert report.leads == len({key for key in keys if key is not None})

    # exactly the payloads without a usable email are dropped in the what-if
    changed = {change.position: change for change in report.changes}
    dropped = {p for p, c in changed.items() if c.hypothetical == "dropped"} | {
        p
        for event, p in logged
        if actual_lead(event) is None and p not in changed  # dropped either way
    }
    assert dropped == {p for (_, p), key in zip(logged, keys, strict=True) if key is None}
    key_at = {p: key for (_, p), key in zip(logged, keys, strict=True)}
    assert all(c.hypothetical_key == key_at[p] for p, c in changed.items())

    # the report's counts agree with each other and with the app
    assert sum(report.changed.values()) == len(report.changes)
    assert report.summary()["decisions_changed"] == len(report.changes)
    actual_leads = set(app.workspace(WS).versions)
    assert report.actual_leads == len(actual_leads)
    for merge in report.merges:
        assert len(merge.actual_leads) == len(set(merge.actual_leads)) > 1
        assert set(merge.actual_leads) <= actual_leads

    # merges, splits and leads that would not exist, from the model
    targets: dict[UUID, list[UUID]] = {}
    sources: dict[UUID, list[UUID]] = {}
    lost: Counter[UUID] = Counter()
    for (event, _), key in zip(logged, keys, strict=True):
        lead = actual_lead(event)
        if lead is None:
            continue
        going = targets.setdefault(lead, [])
        if key is None:
            lost[lead] += 1
            continue
        hypothetical = email_lead(key)
        coming = sources.setdefault(hypothetical, [])
        if hypothetical not in going:
            going.append(hypothetical)
        if lead not in coming:
            coming.append(lead)
    assert set(report.merges) == {Merge(h, tuple(a)) for h, a in sources.items() if len(a) > 1}
    assert set(report.splits) == {
        Split(a, tuple(h), lost[a]) for a, h in targets.items() if len(h) > 1
    }
    assert set(report.not_created) == {a for a, h in targets.items() if not h}


@settings(max_examples=60, deadline=None)
@given(
    stream=payload_streams("phone", max_size=20),
    plan=change_plans.filter(bool),
    batch_size=st.integers(1, 4),
)
def test_a_what_if_decides_as_the_store_would_have_with_those_switches(
    stream: list[Any], plan: list[tuple[int, str]], batch_size: int
) -> None:
    """The what-if of a log without changes equals another store that made them."""
    app = Leadkey("memory:")
    app.create_workspace(WS, fields=WORKSPACE_FIELDS)
    list(app.ingest_many(WS, stream, batch_size=batch_size))
    other = Leadkey("memory:")
    other.create_workspace(WS, fields=WORKSPACE_FIELDS)
    ingest_with_changes(other, stream, plan, batch_size)
    positions = [p for _, p in decisions(app)]
    end = app._log.recorder.max_notification_id() + 1
    switches, seen = [], 0
    for event, _ in read_log(other._log):  # each change, just before the payload after it
        switch = as_switch(event, positions[seen] if seen < len(positions) else end)
        if switch is not None:
            switches.append(switch)
        seen += isinstance(event, DECISION_EVENTS)
    report = app.what_if(WS, switches)

    theirs = [recorded(event) for event, _ in decisions(other)]
    ours = [recorded(event) for event, _ in decisions(app)]
    changed = {change.position: change for change in report.changes}
    for n, position in enumerate(positions):
        change = changed.get(position)
        if change is None:
            assert ours[n][0] == theirs[n][0]
        else:
            hypothetical = (change.hypothetical, change.hypothetical_lead, change.hypothetical_key)
            assert hypothetical == theirs[n]
    assert report.leads == len(other.workspace(WS).versions)
    assert set(report.new_leads) <= set(other.workspace(WS).versions)
    assert [r.generation for r in report.rebuilds] == list(range(1, len(switches) + 1))


# -- B. examples -----------------------------------------------------------------------


def test_two_phone_leads_sharing_an_email_merge_under_email() -> None:
    app = workspace()
    first, _ = send(app, phone="9999999991", email="asha@example.com", name="Asha")
    second, at = send(app, phone="9999999992", email=" ASHA@Example.com", name="Asha R")
    assert first.lead_id != second.lead_id
    report = app.what_if(WS, Switch(identifier="email"))
    merged = email_lead("asha@example.com")
    assert report.merges == (Merge(merged, (first.lead_id, second.lead_id)),)
    [change] = report.changes
    assert (change.position, change.kind) == (at, "created->updated")
    assert change.hypothetical_lead == merged and change.counterpart == first.lead_id
    assert change.hypothetical_key == "asha@example.com"
    assert (report.actual_leads, report.leads) == (2, 1)
    assert report.summary()["leads_merged"] == 2
    assert not report.identical


def test_a_lead_sending_two_emails_splits_under_email() -> None:
    app = workspace()
    created, _ = send(app, phone="9999999991", email="a@example.com")
    other, at_other = send(app, phone="+91 99999 99991", email="b@example.com")
    bare, at_bare = send(app, phone="09999999991", name="no email")
    assert {other.lead_id, bare.lead_id} == {created.lead_id}
    report = app.what_if(WS, Switch(identifier="email"))
    leads = (email_lead("a@example.com"), email_lead("b@example.com"))
    assert report.splits == (Split(created.lead_id, leads, dropped=1),)
    assert kinds(report) == {at_other: "updated->created", at_bare: "updated->dropped"}
    assert report.changes[0].counterpart == created.lead_id
    assert report.merges == () and report.leads == 2


def test_a_phone_only_lead_is_not_created_under_email_from_the_start() -> None:
    app = workspace()
    created, at_first = send(app, phone="9999999993", name="P")
    _, at_again = send(app, phone="99999 99993", name="P2")
    report = app.what_if(WS, Switch(identifier="email", position=0))
    assert report.not_created == (created.lead_id,)
    assert kinds(report) == {at_first: "created->dropped", at_again: "updated->dropped"}
    assert {change.reason for change in report.changes} == {"identifier_missing"}
    assert report.leads == 0 and report.unreachable == ()


def test_an_email_only_payload_dropped_under_phone_becomes_a_new_lead() -> None:
    app = workspace()
    dropped, at = send(app, email="only@example.com", name="O", source={"line": 7})
    assert dropped.outcome is Outcome.DROPPED
    report = app.what_if(WS, Switch(identifier="email"))
    new = email_lead("only@example.com")
    assert report.new_leads == (new,)
    [change] = report.changes
    assert (change.position, change.kind, change.actual_lead) == (at, "dropped->created", None)
    assert (change.hypothetical_lead, change.counterpart) == (new, None)
    assert change.source == {"line": 7}  # where the payload came from
    assert report.actual_leads == 0 and report.leads == 1


def seed_before_a_switch(app: Leadkey) -> dict[str, Decision]:
    """Four phone leads: A and B share an email, C has none, D has its own."""
    leads = {}
    for name, phone, email in [
        ("A", "9999999991", "shared@example.com"),
        ("B", "9999999992", "Shared@Example.com"),
        ("C", "9999999993", None),
        ("D", "9999999994", "d@example.com"),
    ]:
        fields = {"phone": phone, "name": name} | ({"email": email} if email else {})
        leads[name], _ = send(app, **fields)
    return leads


def test_a_later_switch_keeps_earlier_decisions_and_reports_unreachable_leads() -> None:
    app = workspace()
    leads = seed_before_a_switch(app)
    ids = {name: decision.lead_id for name, decision in leads.items()}
    switch_at = next_position(app)
    _, at_c = send(app, phone="9999999993", name="C again")  # no email: dropped under email
    send(app, phone="9999999994", email="D@example.com", name="D again")  # same lead either way
    report = app.what_if(WS, Switch(identifier="email", position=switch_at))
    assert kinds(report) == {at_c: "updated->dropped"}
    assert all(change.position >= switch_at for change in report.changes)
    # C has no email; B lost the shared email to A, the earlier lead
    assert report.unreachable == (ids["B"], ids["C"])
    [rebuild] = report.rebuilds
    assert (rebuild.identifier, rebuild.generation) == ("email", 1)
    assert (rebuild.leads, rebuild.indexed) == (4, 2)
    assert rebuild.unreachable == (ids["C"],)
    assert rebuild.collisions == (Collision("shared@example.com", ids["A"], (ids["B"],)),)
    assert report.not_created == () and report.merges == ()
    # the what-if's rebuild is the one the real switch would report
    assert rebuild == app.change_identifier(WS, "email", dry_run=True)


def test_after_a_later_switch_a_collision_losers_payload_goes_to_the_winner() -> None:
    app = workspace()
    ids = {name: decision.lead_id for name, decision in seed_before_a_switch(app).items()}
    switch_at = next_position(app)
    _, at_b = send(app, phone="9999999992", email="shared@example.com", name="B again")
    report = app.what_if(WS, Switch(identifier="email", position=switch_at))
    [change] = report.changes
    assert (change.position, change.kind) == (at_b, "updated->updated")
    assert change.hypothetical_lead == change.counterpart == ids["A"]
    assert report.merges == (Merge(ids["A"], (ids["A"], ids["B"])),)
    assert report.splits == (Split(ids["B"], (ids["B"], ids["A"]), 0),)
    assert report.unreachable == (ids["C"],)  # B's payloads still reach a lead


def test_keeping_phone_when_the_log_switched_to_email_re_decides_what_came_after() -> None:
    app = workspace()
    asha, _ = send(app, phone="9999999991", email="asha@example.com")
    app.change_identifier(WS, "email")
    [logged] = logged_switches(app)
    new_email, at_new = send(app, phone="+91 99999 99991", email="asha.new@example.com")
    by_email, at_by_email = send(app, email="ASHA@example.com", name="Asha")
    fresh, at_fresh = send(app, phone="9999999995", email="f@example.com")
    assert (new_email.outcome, fresh.outcome) == (Outcome.CREATED, Outcome.CREATED)
    assert by_email.lead_id == asha.lead_id

    assert_identical(app.what_if(WS, [logged]), payloads=4)
    report = app.what_if(WS, Switch(identifier="phone", position=0))
    assert kinds(report) == {at_new: "created->updated", at_by_email: "updated->dropped"}
    assert report.changes[0].hypothetical_lead == asha.lead_id
    assert report.changes[0].hypothetical_key == "+919999999991"
    assert report.changes[1].reason == "identifier_missing"
    assert report.merges == (Merge(asha.lead_id, (asha.lead_id, new_email.lead_id)),)
    assert at_fresh not in kinds(report)  # a new phone makes a new lead either way
    assert report.rebuilds == ()  # phone was never left
    assert report.leads == 2 and report.actual_leads == 3


def test_another_default_country_changes_the_keys() -> None:
    app = workspace(country="IN")
    local, at_local = send(app, phone="4155550123")  # a US number without +1
    plus_one, at_plus_one = send(app, phone="+1 415 555 0123")
    us_only, at_us_only = send(app, phone="3125550123")
    indian, at_indian = send(app, phone="9876543210")
    assert local.key != "+14155550123" and plus_one.lead_id != local.lead_id  # read as IN
    assert us_only.outcome is Outcome.DROPPED and indian.outcome is Outcome.CREATED

    report = app.what_if(WS, Switch(country="US"))
    assert kinds(report) == {
        at_plus_one: "created->updated",
        at_us_only: "dropped->created",
        at_indian: "created->dropped",
    }
    keys = {change.position: change.hypothetical_key for change in report.changes}
    assert keys == {at_plus_one: "+14155550123", at_us_only: "+13125550123", at_indian: None}
    assert report.changes[0].counterpart == local.lead_id
    assert report.merges == (
        Merge(report.changes[0].hypothetical_lead, (local.lead_id, plus_one.lead_id)),
    )
    assert report.not_created == (indian.lead_id,)
    assert report.new_leads == (report.changes[1].hypothetical_lead,)
    assert at_local not in kinds(report)
    assert report.keys_changed == 1  # the same decision for it, under the key +14155550123


def test_a_country_switch_after_an_identifier_switch_reports_the_leads_it_indexes() -> None:
    app = workspace()
    send(app, phone="9999999991", email="a@example.com")
    send(app, email="b@example.com")  # dropped under phone
    later = app._log.recorder.max_notification_id() + 1
    report = app.what_if(WS, [Switch(identifier="email"), Switch(country="US", position=later)])
    [rebuild] = report.rebuilds
    assert (rebuild.identifier, rebuild.generation) == ("email", 1)
    assert (rebuild.leads, rebuild.indexed, rebuild.unreachable) == (2, 2, ())


def test_until_stops_at_a_position() -> None:
    app = workspace()
    send(app, phone="9999999991", email="s@example.com")
    _, at_second = send(app, phone="9999999992", email="s@example.com")
    middle = app._log.recorder.max_notification_id()
    _, at_third = send(app, phone="9999999993")
    switch = Switch(identifier="email")
    early = app.what_if(WS, switch, until=middle)
    assert (early.position, early.payloads, early.actual_leads) == (middle, 2, 2)
    assert kinds(early) == {at_second: "created->updated"}
    assert kinds(app.what_if(WS, switch)) == {
        at_second: "created->updated",
        at_third: "created->dropped",
    }
    assert app.what_if(WS, switch, until=at_second - 1).payloads == 1
    beyond = app.what_if(WS, switch, until=10**6)
    assert (beyond.position, beyond.payloads) == (app._log.recorder.max_notification_id(), 3)

    # a switch after ``until`` is only its rebuild: nothing is decided again
    later = app.what_if(WS, Switch(identifier="email", position=at_third), until=middle)
    assert later.changes == () and later.payloads == 2
    [rebuild] = later.rebuilds
    assert (rebuild.leads, rebuild.indexed, len(rebuild.collisions)) == (2, 1, 1)


def test_errors_say_what_cannot_be_run() -> None:
    app = workspace()
    send(app, phone="9999999991")
    with pytest.raises(WhatIfError, match="no workspace 'elsewhere'"):
        app.what_if("elsewhere", Switch(identifier="email"))
    with pytest.raises(WhatIfError, match=r"'fax' cannot be the lead identifier.*not a field"):
        app.what_if(WS, Switch(identifier="fax"))
    app.add_field(WS, "rating", "rating")
    with pytest.raises(WhatIfError, match=r"it is a rating field .*phone, email or text"):
        app.what_if(WS, Switch(identifier="rating", position=next_position(app)))
    for country in ("XX", "ın"):
        with pytest.raises(WhatIfError, match=f"unknown default country '{country}'"):
            app.what_if(WS, Switch(country=country))
    with pytest.raises(ValueError):  # a WhatIfError is a ValueError to callers
        app.what_if(WS, Switch(identifier="fax"))
    with pytest.raises(WhatIfError, match=f"no workspace {WS!r} in the log up to position 0"):
        Leadkey("memory:").what_if(WS, Switch(identifier="email"))  # an empty log


def test_a_field_is_an_identifier_only_from_when_it_was_added() -> None:
    app = workspace()
    send(app, phone="9999999991", customer_id="C-1")
    app.add_field(WS, "customer_id", "text")
    added = app._log.recorder.max_notification_id()
    _, at = send(app, phone="9999999991", customer_id="c-1")
    with pytest.raises(WhatIfError, match="'customer_id' cannot be the lead identifier"):
        app.what_if(WS, Switch(identifier="customer_id", position=0))
    report = app.what_if(WS, Switch(identifier="customer_id", position=added + 1))
    # the lead was created before the field existed: it has no customer id to match
    assert kinds(report) == {at: "updated->created"}
    assert report.rebuilds[0].indexed == 0


@pytest.mark.parametrize("created", [True, False])
def test_payloads_sent_before_the_workspace_existed(created: bool) -> None:
    app = Leadkey("memory:")
    early = app.ingest(WS, {"fields": {"phone": "9999999991"}}, drop_unknown=True)
    assert early.reason == "unknown_workspace"
    if not created:
        with pytest.raises(WhatIfError, match=f"no workspace '{WS}'"):
            app.what_if(WS, Switch(identifier="phone"))
        return
    app.create_workspace(WS)
    app.ingest(WS, {"fields": {"phone": "9999999991"}})
    assert app.replay(WS).exact
    assert_identical(app.what_if(WS, Switch(identifier="phone")), payloads=2)


def test_a_country_switch_takes_any_case() -> None:
    app = workspace(country="IN")
    send(app, phone="9811200977")
    send(app, phone="+1 415 555 0123")
    lower, upper = (app.what_if(WS, Switch(country=c)).as_dict() for c in ("us", "US"))
    assert lower == upper  # the switch reported in upper case too
    assert lower["summary"]["keys_changed"] + lower["summary"]["decisions_changed"] >= 1
