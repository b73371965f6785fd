"""The domain reference's test vectors (section 7), through the application."""

from __future__ import annotations

from typing import Any

import pytest

from leadkey.adapters.application import Leadkey, UnknownWorkspace
from leadkey.domain.decisions import DropReason, Outcome

FIELDS = {
    "rating": "rating",
    "contact_source": "dropdown",
    "interests": "tags",
    "deal_size": "number",
    "follow_up_date": "date",
    "budget": "money",
    "customer_id": "text",
}


@pytest.fixture
def w(app: Leadkey) -> Leadkey:
    """Fixture W: default country IN, identifier phone, lead L1 = 919999999999."""
    app.create_workspace("w", country="IN", fields=FIELDS)
    first = app.ingest("w", {"fields": {"phone": "919999999999", "name": "Jane", "rating": 2}})
    assert first.outcome is Outcome.CREATED
    return app


def l1(app: Leadkey) -> dict[str, Any]:
    lead = app.lookup("w", "+919999999999")
    assert lead is not None
    return lead.fields


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "919999999999", "name": "Jane D"},  # 1
        {"phone": "+919999999999"},  # 2
        {"phone": "9999999999"},  # 3
        {"name": "J", "phone": "919999999999"},  # 10: identifier need not come first
        {"phone": "+91 99999-99999"},  # 11: lenient separators
        {"phone": "09999999999"},  # A27: trunk prefix
        {"phone": "00919999999999"},  # A27: international prefix
    ],
)
def test_spellings_of_l1_update_l1(w: Leadkey, fields: dict[str, Any]) -> None:
    lead_id = w.lookup("w", "919999999999").lead_id
    decision = w.ingest("w", {"fields": fields})
    assert decision.outcome is Outcome.UPDATED
    assert decision.lead_id == lead_id
    assert decision.key == "+919999999999"


def test_update_changes_only_supplied_fields(w: Leadkey) -> None:
    w.ingest("w", {"fields": {"phone": "919999999999", "name": "Jane D"}})
    assert l1(w) == {"phone": "+919999999999", "name": "Jane D", "rating": 2}


def test_identifier_value_is_never_overwritten_by_another_spelling(w: Leadkey) -> None:
    w.ingest("w", {"fields": {"phone": "+91 99999 99999"}})
    assert l1(w)["phone"] == "+919999999999"


def test_new_number_creates_a_lead(w: Leadkey) -> None:  # 4
    decision = w.ingest("w", {"fields": {"phone": "918888888888", "name": "Raj"}})
    assert decision.outcome is Outcome.CREATED
    assert decision.key == "+918888888888"
    assert w.lookup("w", "8888888888").fields == {"phone": "+918888888888", "name": "Raj"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": "Raj", "email": "raj@x.com"}, DropReason.IDENTIFIER_MISSING),  # 5
        ({"Phone": "919999999999"}, DropReason.IDENTIFIER_MISSING),  # 6: names are case-sensitive
        ({"phone": "99999"}, DropReason.IDENTIFIER_UNUSABLE),  # 7
        ({"phone": ""}, DropReason.IDENTIFIER_EMPTY),  # 8
        ({"phone": "   "}, DropReason.IDENTIFIER_EMPTY),
        ({"phone": None}, DropReason.IDENTIFIER_MISSING),  # 8
        ({"phone": 919999999999}, DropReason.IDENTIFIER_UNUSABLE),  # 9: JSON number
        ({"phone": "+91999999999"}, DropReason.IDENTIFIER_UNUSABLE),  # 13
        ({"phone": "9999999999 (mobile)"}, DropReason.IDENTIFIER_UNUSABLE),  # letters
    ],
)
def test_unusable_identifier_drops_the_whole_payload(
    w: Leadkey, fields: dict[str, Any], reason: DropReason
) -> None:
    before = w.workspace("w").versions.copy()
    decision = w.ingest("w", {"fields": fields, "actions": [{"type": "ACTION_1001"}]})
    assert decision.outcome is Outcome.DROPPED
    assert decision.reason is reason
    assert decision.message
    assert decision.lead_id is None
    assert w.workspace("w").versions == before  # nothing persists on any lead


def test_ten_digit_number_starting_with_91_is_national(w: Leadkey) -> None:  # 12
    decision = w.ingest("w", {"fields": {"phone": "9199999999"}})
    assert decision.outcome is Outcome.CREATED
    assert decision.key == "+919199999999"


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("rating", 4, 4),  # 16
        ("interests", ["VIP", "Returning", "VIP"], ["VIP", "Returning"]),  # 18, A23
        ("follow_up_date", 1672561800000, "2023-01-01T08:30:00.000Z"),  # 20
        ("follow_up_date", "01/06/2026 10:30:00", "2026-06-01T10:30:00.000Z"),  # 21 (UTC)
        ("follow_up_date", 1672561800, "1970-01-20T08:36:01.800Z"),  # 22: seconds misread
        ("email", " Jane.Doe@Example.com ", "Jane.Doe@Example.com"),  # 25
        ("deal_size", 1000, 1000),
        ("budget", "1000", "1000"),
        ("contact_source", "Instagram", "Instagram"),  # 30: auto-create on
    ],
)
def test_valid_values_are_applied(w: Leadkey, field: str, value: Any, stored: Any) -> None:
    decision = w.ingest("w", {"fields": {"phone": "919999999999", field: value}})
    assert decision.outcome is Outcome.UPDATED
    assert decision.applied == {field: stored}
    assert l1(w)[field] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rating", "3"),  # 14
        ("rating", 6),  # 15
        ("rating", 0),
        ("rating", True),
        ("interests", "VIP, Returning"),  # 17
        ("follow_up_date", "2026-01-01T10:30:00Z"),  # 19
        ("follow_up_date", "31/02/2026"),
        ("email", "jane.doe@"),  # 26
        ("deal_size", "1000"),  # 29
        ("budget", 1000),  # 29
        ("name", 5),
        ("contact_source", ""),  # A13
    ],
)
def test_a_wrong_typed_value_is_rejected_alone(w: Leadkey, field: str, value: Any) -> None:
    before = l1(w)
    payload = {"phone": "919999999999", field: value, "customer_id": "C-1"}
    decision = w.ingest("w", {"fields": payload})
    assert decision.outcome is Outcome.UPDATED
    assert decision.rejected[field]
    assert decision.applied == {"customer_id": "C-1"}
    assert l1(w) == {**before, "customer_id": "C-1"}


def test_unknown_fields_and_nulls_are_ignored_with_a_reason(w: Leadkey) -> None:  # 27, A13
    decision = w.ingest(
        "w", {"fields": {"phone": "919999999999", "utm_campaign": "x", "name": None}}
    )
    assert decision.outcome is Outcome.UPDATED
    assert set(decision.ignored) == {"utm_campaign", "name"}
    assert l1(w)["name"] == "Jane"


def test_email_identifier_trims_and_ignores_case(app: Leadkey) -> None:  # 43, 44
    app.create_workspace("e", identifier="email")
    first = app.ingest("e", {"fields": {"email": "jane.doe@example.com"}})
    again = app.ingest("e", {"fields": {"email": " JANE.DOE@example.com "}})
    assert (first.outcome, again.outcome) == (Outcome.CREATED, Outcome.UPDATED)
    assert again.lead_id == first.lead_id and again.key == "jane.doe@example.com"
    dropped = app.ingest("e", {"fields": {"phone": "919999999999"}})
    assert dropped.reason is DropReason.IDENTIFIER_MISSING


def test_text_identifier_ignores_case_but_keeps_whitespace(app: Leadkey) -> None:  # 45, 46
    app.create_workspace("t", identifier="customer_id", fields={"customer_id": "text"})
    first = app.ingest("t", {"fields": {"customer_id": "CUST-04821"}})
    same = app.ingest("t", {"fields": {"customer_id": "cust-04821"}})
    spaced = app.ingest("t", {"fields": {"customer_id": "CUST-04821 "}})
    assert same.outcome is Outcome.UPDATED and same.lead_id == first.lead_id
    assert spaced.outcome is Outcome.CREATED and spaced.key == "cust-04821 "


def test_after_switch_to_email_a_phone_only_payload_is_dropped(w: Leadkey) -> None:  # 47
    w.ingest("w", {"fields": {"phone": "919999999999", "email": "jane@x.com"}})
    w.change_identifier("w", "email")
    dropped = w.ingest("w", {"fields": {"phone": "919999999999"}})
    assert dropped.reason is DropReason.IDENTIFIER_MISSING
    matched = w.ingest("w", {"fields": {"email": "JANE@x.com", "name": "Jane E"}})
    assert matched.outcome is Outcome.UPDATED
    assert w.lookup("w", "jane@X.com").fields["name"] == "Jane E"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{not json", DropReason.PAYLOAD_MALFORMED),
        ("[1, 2]", DropReason.PAYLOAD_MALFORMED),
        ({"fields": "phone=9999999999"}, DropReason.PAYLOAD_MALFORMED),
        ({"fields": {"phone": "9999999999"}, "actions": {}}, DropReason.PAYLOAD_MALFORMED),
        ({"fields": {"phone": {1, 2}}}, DropReason.PAYLOAD_MALFORMED),  # not JSON-serializable
    ],
)
def test_malformed_payloads_are_recorded_drops(
    w: Leadkey, payload: Any, reason: DropReason
) -> None:
    decision = w.ingest("w", payload)
    assert decision.outcome is Outcome.DROPPED and decision.reason is reason
    assert decision.message


def test_unknown_workspace_is_refused_or_a_recorded_drop_when_asked(app: Leadkey) -> None:
    with pytest.raises(UnknownWorkspace):
        app.ingest("nowhere", {"fields": {"phone": "9999999999"}})
    assert app.notification_log.select(start=1, limit=10) == []  # nothing recorded
    decision = app.ingest("nowhere", {"fields": {"phone": "9999999999"}}, drop_unknown=True)
    assert decision.reason is DropReason.UNKNOWN_WORKSPACE
