"""What an auditor reads in the projections' reports, pinned where no other test did.

What-if: the ids of its leads are those the store would derive in the generation the
what-if world is in; a recorded key is reused only when it tells what preparing the
payload again would (the drop reason included); a switch keeps its identifier to the
end; the rebuilds listed are the what-if's own; a lead split over three what-if leads
(or three merged into one) is named once each; and the JSON of a report, key by key.
Replay: its JSON with a divergence, and a replay up to position 0.  On generated
workloads, every report's JSON holds JSON's own types only and reads back equal, and its
counts add up (a rebuild counts each lead once; the what-if's payloads and leads are the
replay's).  Log positions up
to 2**63 - 1.  Reading the log in bulk raises the garbage collector's threshold, and
restores it when the last reader leaves.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from test_what_if import (
    IDENTIFIERS,
    WS,
    change,
    change_plans,
    email_lead,
    kinds,
    next_position,
    send,
    what_if_switches,
    workspace,
)

from leadkey import Lookup, UnusableValue
from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import WORKSPACE_FIELDS, payload_streams
from leadkey.domain.decisions import Decision, MatchConfig
from leadkey.domain.decisions import decide as real_decide
from leadkey.domain.lead import Lead
from leadkey.projections import audit
from leadkey.projections.audit import (
    MAX_POSITION,
    PositionError,
    ReplayReport,
    check_position,
)
from leadkey.projections.identifier_index import (
    RebuildReport,
    read_log,
)
from leadkey.projections.what_if import Merge, Split, Switch, WhatIfReport

# -- helpers -------------------------------------------------------------------------------


def round_trip(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` as the command line prints it and a reader parses it back."""
    return json.loads(json.dumps(report))


# -- what-if: lead ids and generations -----------------------------------------------------


def test_what_if_leads_after_a_logged_country_change_get_the_next_generations_ids() -> None:
    app = workspace(country="IN")
    send(app, phone="9999999991", email="a@example.com")
    app.change_country(WS, "US")  # generation 1, in the log and in the what-if
    _, at_only_email = send(app, email="b@example.com")  # dropped under phone
    us, _ = send(app, phone="4155550123", email="c@example.com")
    _, at_other_email = send(app, phone="415 555 0123", email="d@example.com")

    report = app.what_if(WS, Switch(identifier="email"))
    assert kinds(report) == {at_only_email: "dropped->created", at_other_email: "updated->created"}
    created = {change.position: change.hypothetical_lead for change in report.changes}
    assert created == {
        at_only_email: email_lead("b@example.com", 1),
        at_other_email: email_lead("d@example.com", 1),
    }
    assert report.new_leads == (email_lead("b@example.com", 1),)
    leads = (email_lead("c@example.com", 1), email_lead("d@example.com", 1))
    assert report.splits == (Split(us.lead_id, leads, 0),)
    [rebuild] = report.rebuilds  # the country change, under email
    assert (rebuild.identifier, rebuild.generation) == ("email", 1)


# -- what-if: recorded keys are reused only when they tell the same ------------------------


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [("customer_id", "identifier_empty"), ("email", "identifier_unusable")],
)
def test_a_value_without_a_key_is_dropped_for_the_reason_preparing_it_again_gives(
    identifier: str, reason: str
) -> None:
    """A blank text value and an invalid email were stored (or rejected) on a phone lead;
    under that identifier the payload is dropped as a store matching on it would."""
    app = workspace(fields={"customer_id": "text"})
    fields = {"phone": "9999999991", "customer_id": "  ", "email": "bad@"}
    created, at_created = send(app, **fields)
    _, at_updated = send(app, **fields)
    assert created.applied["customer_id"] == "  " and "email" in created.rejected

    report = app.what_if(WS, Switch(identifier=identifier))
    assert kinds(report) == {at_created: "created->dropped", at_updated: "updated->dropped"}
    assert [change.reason for change in report.changes] == [reason, reason]
    assert report.not_created == (created.lead_id,)

    other = Leadkey("memory:")  # the reason a store matching on that field records
    other.create_workspace(WS, identifier=identifier, fields={"customer_id": "text"})
    assert other.ingest(WS, {"fields": fields}).reason == reason


# -- what-if: a switch keeps its identifier to the end -------------------------------------


def test_a_switched_identifier_stays_when_the_log_later_changes_it() -> None:
    app = workspace(fields={"customer_id": "text"})
    first, _ = send(app, phone="9999999991", email="a@example.com", customer_id="C-0")
    app.change_identifier(WS, "customer_id")
    by_email, at = send(app, customer_id="C-1", email="A@example.com")
    assert by_email.lead_id != first.lead_id  # a new customer id: a new lead in the log

    report = app.what_if(WS, Switch(identifier="email"))
    assert kinds(report) == {at: "created->updated"}
    [change] = report.changes
    merged = email_lead("a@example.com")
    assert change.hypothetical_lead == merged and change.hypothetical_key == "a@example.com"
    assert change.counterpart == first.lead_id
    assert report.rebuilds == ()  # the log's change to customer_id is not applied
    assert report.merges == (Merge(merged, (first.lead_id, by_email.lead_id)),)


# -- what-if: the rebuilds listed are the what-if's own ------------------------------------


def test_changes_the_log_made_before_a_later_switch_are_not_what_if_rebuilds() -> None:
    app = workspace(country="IN")
    send(app, phone="9999999991", email="a@example.com")
    app.change_country(WS, "US")
    send(app, phone="4155550123", email="b@example.com")
    switch_at = next_position(app)
    _, at = send(app, phone="4155550123", email="c@example.com")

    report = app.what_if(WS, Switch(identifier="email", position=switch_at))
    [rebuild] = report.rebuilds
    assert (rebuild.identifier, rebuild.generation, rebuild.leads) == ("email", 2, 2)
    assert kinds(report) == {at: "updated->created"}
    assert (report.actual_leads, report.leads) == (2, 3)
    assert app.what_if(WS, []).rebuilds == ()  # the log alone: no what-if rebuild


# -- what-if: three what-if leads for one actual lead, three actual leads for one ----------


def test_a_lead_split_over_three_leads_names_each_once_and_can_become_unreachable() -> None:
    app = workspace(fields={"customer_id": "text"})
    phone = "9999999991"
    created, _ = send(app, phone=phone, email="a@example.com")
    for email in ("b@example.com", "c@example.com", "A@example.com"):
        send(app, phone=phone, email=email)
    leads = tuple(email_lead(f"{x}@example.com") for x in "abc")

    report = app.what_if(WS, Switch(identifier="email"))
    assert report.splits == (Split(created.lead_id, leads, 0),)
    assert report.unreachable == ()

    # then customer_id, which none of them has: no what-if lead can be matched any more
    later = Switch(identifier="customer_id", position=next_position(app))
    report = app.what_if(WS, [Switch(identifier="email"), later])
    assert report.splits == (Split(created.lead_id, leads, 0),)
    assert report.unreachable == (created.lead_id,)
    assert report.rebuilds[-1].unreachable == leads


def test_three_leads_merged_into_one_are_named_once_each() -> None:
    app = workspace()
    actual = [
        send(app, phone=phone, email="Shared@example.com")[0].lead_id
        for phone in ("9999999991", "9999999992", "9999999993", "9999999991")
    ]
    assert len(set(actual)) == 3
    report = app.what_if(WS, Switch(identifier="email"))
    assert report.merges == (Merge(email_lead("shared@example.com"), tuple(actual[:3])),)
    assert report.summary()["leads_merged"] == 3


# -- what-if: the JSON of a report ---------------------------------------------------------


def test_a_what_if_report_as_json_names_every_change_merge_and_split() -> None:
    app = workspace()
    asha, _ = send(app, phone="9999999991", email="asha@example.com", source={"line": 1})
    other, at_merged = send(app, phone="9999999992", email="ASHA@example.com", source={"line": 2})
    _, at_split = send(app, phone="9999999991", email="b@example.com", source={"line": 3})
    _, at_dropped = send(app, phone="09999999991", source={"line": 4})
    a, b = email_lead("asha@example.com"), email_lead("b@example.com")

    report = app.what_if(WS, Switch(identifier="email"))
    as_dict = report.as_dict()
    assert round_trip(as_dict) == as_dict
    assert as_dict == {
        "workspace": WS,
        "switches": [{"identifier": "email", "country": None, "position": 0}],
        "position": app._log.recorder.max_notification_id(),
        "identical": False,
        "summary": {
            "payloads": 4,
            "decisions_changed": 3,
            "keys_changed": 0,
            "changed": {"created->updated": 1, "updated->created": 1, "updated->dropped": 1},
            "actual_leads": 2,
            "what_if_leads": 2,
            "merges": 1,
            "leads_merged": 2,
            "splits": 1,
            "unreachable": 0,
            "not_created": 0,
            "new_leads": 0,
        },
        "rebuilds": [],
        "changes": [
            {
                "position": at_merged,
                "source": {"line": 2},
                "change": "created->updated",
                "actual": {"decision": "created", "lead_id": str(other.lead_id)},
                "what_if": {
                    "decision": "updated",
                    "lead_id": str(a),
                    "key": "asha@example.com",
                    "reason": None,
                    "counterpart": str(asha.lead_id),
                },
            },
            {
                "position": at_split,
                "source": {"line": 3},
                "change": "updated->created",
                "actual": {"decision": "updated", "lead_id": str(asha.lead_id)},
                "what_if": {
                    "decision": "created",
                    "lead_id": str(b),
                    "key": "b@example.com",
                    "reason": None,
                    "counterpart": str(asha.lead_id),
                },
            },
            {
                "position": at_dropped,
                "source": {"line": 4},
                "change": "updated->dropped",
                "actual": {"decision": "updated", "lead_id": str(asha.lead_id)},
                "what_if": {
                    "decision": "dropped",
                    "lead_id": None,
                    "key": None,
                    "reason": "identifier_missing",
                    "counterpart": None,
                },
            },
        ],
        "merges": [{"lead_id": str(a), "actual_leads": [str(asha.lead_id), str(other.lead_id)]}],
        "splits": [
            {"actual_lead": str(asha.lead_id), "lead_ids": [str(a), str(b)], "payloads_dropped": 1}
        ],
        "unreachable": [],
        "not_created": [],
        "new_leads": [],
    }


# -- replay: the JSON of a report, and a replay before any event ---------------------------

ELSEWHERE = UUID("00000000-0000-4000-8000-000000000042")


def test_a_replay_report_as_json_names_what_diverges(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_workspace(WS)
    created = app.ingest(WS, {"fields": {"phone": "9999999991", "name": "A"}})
    app.ingest(WS, {"fields": {"phone": "09999999991", "name": "B"}})
    [at_update] = [p for e, p in read_log(app._log) if isinstance(e, Lead.LeadFieldsUpdated)]

    def decide(config: MatchConfig | None, payload: str, lookup: Any) -> Decision:
        """Decides as leadkey does, except that the update goes elsewhere, ignoring more."""
        decision = real_decide(config, payload, lookup)
        if '"B"' not in payload:
            return decision
        return replace(
            decision, lead_id=ELSEWHERE, rejected={"x": "why"}, ignored={"rating": "not a field"}
        )

    monkeypatch.setattr(audit, "decide", decide)
    as_dict = app.replay(WS).as_dict()
    assert round_trip(as_dict) == as_dict
    assert as_dict == {
        "workspace": WS,
        "position": app._log.recorder.max_notification_id(),
        "decisions": {"created": 1, "updated": 1},
        "verified": False,
        "exact": False,
        "divergence_kinds": {"log": 1},
        "divergences": [
            {
                "position": at_update,
                "kind": "log",
                "differences": {
                    "lead_id": {"recorded": str(created.lead_id), "replayed": str(ELSEWHERE)},
                    "rejected": {"recorded": {}, "replayed": {"x": "why"}},
                    "ignored": {"recorded": [], "replayed": [["rating", "not a field"]]},
                },
                "cause": "the log does not re-derive this decision",
            }
        ],
    }


def test_replaying_up_to_position_zero_decides_nothing(app: Leadkey) -> None:
    app.create_workspace(WS)
    app.ingest(WS, {"fields": {"phone": "9999999991"}})
    report = app.replay(WS, until=0)
    assert (report.position, report.decisions, report.divergences) == (0, {}, ())
    assert report.exact and report.verified


# -- log positions -------------------------------------------------------------------------


def test_the_last_log_position_is_two_to_the_sixty_three_minus_one() -> None:
    assert MAX_POSITION == 9223372036854775807
    assert check_position(9223372036854775807) == 9223372036854775807
    with pytest.raises(PositionError, match="out of range: log positions are 0 to 9223"):
        check_position(9223372036854775808)


# -- every report is plain JSON, and its counts add up ---------------------------------------

JSON_SCALARS = (str, int, float, bool, type(None))


def assert_plain(value: Any, where: str = "$") -> None:
    """``value`` is made of JSON's own types only (exactly: no enum, UUID or tuple)."""
    if type(value) is dict:
        for name, item in value.items():
            assert type(name) is str, f"{where}: key {name!r}"
            assert_plain(item, f"{where}.{name}")
    elif type(value) is list:
        for n, item in enumerate(value):
            assert_plain(item, f"{where}[{n}]")
    else:
        assert type(value) in JSON_SCALARS, f"{where}: a {type(value).__name__}, {value!r}"


def assert_rebuild_counts(report: RebuildReport) -> None:
    """Each lead is indexed, unreachable or shadowed (a collision's other), once."""
    assert report.leads == report.indexed + len(report.unreachable) + report.shadowed
    shadowed = [lead for collision in report.collisions for lead in collision.others]
    winners = {collision.winner for collision in report.collisions}
    everyone = [*report.unreachable, *shadowed, *winners]
    assert len(set(everyone)) == len(everyone)
    assert report.shadowed == len(shadowed) and len(winners) <= report.indexed


def assert_what_if_counts(report: WhatIfReport, replayed: ReplayReport) -> None:
    """The what-if's counts of payloads and leads, against the replay of the same log."""
    assert report.payloads == sum(replayed.decisions.values())
    assert report.actual_leads == replayed.decisions.get("created", 0)
    assert sum(report.changed.values()) == len(report.changes)
    assert len(report.changes) + report.keys_changed <= report.payloads
    split = {s.actual_lead for s in report.splits}
    assert split.isdisjoint(report.not_created)
    assert len(split) + len(report.not_created) <= report.actual_leads
    assert len(report.new_leads) <= report.leads and len(report.merges) <= report.leads


def lookups(app: Leadkey, identifier: str, stream: list[Any]) -> list[Lookup]:
    """Lookups of the identifier values of the stream, where they are usable keys."""
    found = []
    for body in stream:
        fields = body.get("fields") if isinstance(body, dict) else None
        if isinstance(fields, dict) and isinstance(fields.get(identifier), str):
            with contextlib.suppress(UnusableValue):
                found.append(app.find(WS, fields[identifier]))
    return found


@settings(max_examples=30, deadline=None)
@given(
    stream=payload_streams("phone", max_size=20),
    plan=change_plans,
    switches=what_if_switches,
)
def test_every_report_is_plain_json_and_its_counts_add_up(
    stream: list[Any], plan: list[tuple[int, str]], switches: list[Switch]
) -> None:
    app = Leadkey("memory:")
    app.create_workspace(WS, fields=WORKSPACE_FIELDS)
    decisions: list[Decision] = []
    rebuilds: list[RebuildReport] = []
    for n, body in enumerate(stream):
        changed = (change(app, setting) for at, setting in plan if at == n)
        rebuilds += [report for report in changed if report is not None]
        decisions.append(app.ingest(WS, body))
    identifier = app.workspace(WS).config.identifier
    rebuilds += [
        app.change_identifier(WS, field, dry_run=True)
        for field in IDENTIFIERS
        if field != identifier
    ]
    replayed = app.replay(WS)
    report = app.what_if(WS, switches)
    rebuilds += report.rebuilds
    explained = [app.explain_position(position) for _, position in read_log(app._log)]
    histories = [app.explain_lead(lead) for lead in app.workspace(WS).versions]
    reports = [
        *(decision.as_dict() for decision in decisions),
        *(rebuild.as_dict() for rebuild in rebuilds),
        replayed.as_dict(),
        report.as_dict(),
        *(item.as_dict() for item in explained if item is not None),
        *(item.as_dict() for history in histories for item in history),
        *(item.as_dict() for item in app.configuration_history(WS)),
        app.workspace_info(WS).as_dict(),
        *(lookup.as_dict() for lookup in lookups(app, identifier, stream)),
    ]
    for as_dict in reports:
        assert_plain(as_dict)
        assert round_trip(as_dict) == as_dict
    for rebuild in rebuilds:
        assert_rebuild_counts(rebuild)
    assert sum(replayed.decisions.values()) == len(stream)
    assert sum(replayed.kinds().values()) == len(replayed.divergences)
    assert_what_if_counts(report, replayed)
