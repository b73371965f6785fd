"""The identifier index: switching identifiers, rebuild reports, collisions, dry runs,
and the index as a pure function of the log."""

from __future__ import annotations

import pytest

from leadkey.adapters.application import Leadkey
from leadkey.domain.decisions import Outcome
from leadkey.domain.workspace import InvalidConfiguration
from leadkey.projections.identifier_index import index_at


def snapshot(app: Leadkey, name: str) -> tuple:
    ws = app.workspace(name)
    return (
        ws.config,
        dict(ws.index),
        dict(ws.versions),
        {f: dict(v) for f, v in ws.candidates.items()},
    )


def seed(app: Leadkey) -> dict[str, object]:
    app.create_workspace("w", fields={"customer_id": "text"})
    ids = {}
    for phone, email in [
        ("9999999991", "shared@x.com"),
        ("9999999992", "SHARED@X.com"),
        ("9999999993", None),
        ("9999999994", "solo@x.com"),
        ("9999999995", " shared@x.com "),
    ]:
        fields = {"phone": phone} | ({"email": email} if email else {})
        ids[phone] = app.ingest("w", {"fields": fields}).lead_id
    return ids


def test_switch_reports_collisions_and_unreachable_leads(app: Leadkey) -> None:
    ids = seed(app)
    report = app.change_identifier("w", "email")
    assert (report.leads, report.indexed) == (5, 2)
    assert report.unreachable == (ids["9999999993"],)
    [collision] = report.collisions
    assert collision.key == "shared@x.com"
    assert collision.winner == ids["9999999991"]  # the earliest created
    assert collision.others == (ids["9999999992"], ids["9999999995"])


def test_a_collided_key_updates_the_winner_and_never_creates(app: Leadkey) -> None:
    ids = seed(app)
    app.change_identifier("w", "email")
    before = len(app.workspace("w").versions)
    decision = app.ingest("w", {"fields": {"email": "Shared@x.com", "name": "S"}})
    assert decision.outcome is Outcome.UPDATED
    assert decision.lead_id == ids["9999999991"]
    assert len(app.workspace("w").versions) == before


def test_dry_run_reports_without_changing_anything(app: Leadkey) -> None:
    seed(app)
    before = snapshot(app, "w")
    position = app._log.recorder.max_notification_id()
    dry = app.change_identifier("w", "email", dry_run=True)
    assert snapshot(app, "w") == before
    assert app._log.recorder.max_notification_id() == position
    real = app.change_identifier("w", "email")
    assert dry == real
    assert app.workspace("w").config.identifier == "email"


def test_switching_back_restores_matching_by_phone(app: Leadkey) -> None:
    ids = seed(app)
    app.change_identifier("w", "email")
    app.change_identifier("w", "phone")
    decision = app.ingest("w", {"fields": {"phone": "+91 99999 99993"}})
    assert decision.outcome is Outcome.UPDATED and decision.lead_id == ids["9999999993"]


def test_switch_to_a_text_field_indexes_folded_values(app: Leadkey) -> None:
    seed(app)
    created = app.ingest("w", {"fields": {"phone": "9999999996", "customer_id": "Straße-1"}})
    report = app.change_identifier("w", "customer_id")
    assert report.indexed == 1
    decision = app.ingest("w", {"fields": {"customer_id": "STRASSE-1"}})
    assert decision.lead_id == created.lead_id


@pytest.mark.parametrize(
    ("field", "message"),
    [("nope", "no field"), ("phone", "already"), ("rating_x", "no field")],
)
def test_invalid_switches_are_refused(app: Leadkey, field: str, message: str) -> None:
    app.create_workspace("w")
    with pytest.raises(InvalidConfiguration, match=message):
        app.change_identifier("w", field)


def test_only_phone_email_text_fields_can_identify(app: Leadkey) -> None:
    app.create_workspace("w", fields={"deal_size": "number"})
    with pytest.raises(InvalidConfiguration, match="phone, email or text"):
        app.change_identifier("w", "deal_size")


def test_default_country_decides_how_national_numbers_read(app: Leadkey) -> None:
    app.create_workspace("w", country="IN")
    indian = app.ingest("w", {"fields": {"phone": "6502530000"}})
    assert indian.key == "+916502530000"
    app.change_country("w", "US")
    american = app.ingest("w", {"fields": {"phone": "6502530000"}})
    assert (american.outcome, american.key) == (Outcome.CREATED, "+16502530000")
    again = app.ingest("w", {"fields": {"phone": "+91 65025 30000"}})
    assert again.lead_id == indian.lead_id


def test_index_at_every_position_equals_the_live_index_then(app: Leadkey) -> None:
    app.create_workspace("w")
    seen = {}
    stream = [
        {"fields": {"phone": "9999999991", "email": "a@x.com"}},
        {"fields": {"phone": "9999999992", "email": "A@x.com"}},
        {"fields": {"phone": "9999999991", "name": "A"}},
        "switch-email",
        {"fields": {"email": "b@x.com"}},
        {"fields": {"email": "a@x.com", "phone": "9999999993"}},
        "switch-phone",
        {"fields": {"phone": "9999999993"}},
    ]
    for item in stream:
        if item == "switch-email":
            app.change_identifier("w", "email")
        elif item == "switch-phone":
            app.change_identifier("w", "phone")
        else:
            app.ingest("w", item)
        seen[app._log.recorder.max_notification_id()] = snapshot(app, "w")
    for position, expected in seen.items():
        rebuilt = index_at(app._log, position).view.workspace("w")
        assert (
            rebuilt.config,
            rebuilt.index,
            rebuilt.versions,
            rebuilt.candidates,
        ) == expected
