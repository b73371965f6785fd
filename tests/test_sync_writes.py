"""Writes of one lead (the Sync API's create and update): decisions like any other, or
refused whole with nothing recorded."""

from __future__ import annotations

from uuid import uuid4

import pytest

from leadkey import (
    DropReason,
    IdentifierImmutable,
    KeyReused,
    LeadExists,
    Leadkey,
    Outcome,
    PayloadRejected,
    Switch,
    UnknownLead,
)

WS = "w"


@pytest.fixture
def shop(app: Leadkey) -> Leadkey:
    app.create_workspace(WS, fields={"rating": "rating", "city": "text"})
    return app


def length(app: Leadkey) -> int:
    return app._log.recorder.max_notification_id() or 0


def test_create_records_a_lead_and_refuses_an_existing_key(shop: Leadkey) -> None:
    created = shop.create_lead(WS, {"fields": {"phone": "+91 98765 43210", "name": "Asha"}})
    assert created.outcome is Outcome.CREATED and created.position is not None
    before = length(shop)
    with pytest.raises(LeadExists) as caught:
        shop.create_lead(WS, {"fields": {"phone": "09876543210", "name": "Other"}})
    assert caught.value.lead_id == created.lead_id and caught.value.key == "+919876543210"
    assert length(shop) == before
    assert shop.lead(created.lead_id).fields["name"] == "Asha"  # type: ignore[arg-type]


def test_create_without_a_usable_identifier_is_refused(shop: Leadkey) -> None:
    before = length(shop)
    with pytest.raises(PayloadRejected) as caught:
        shop.create_lead(WS, {"fields": {"name": "no phone"}})
    assert caught.value.decision.reason is DropReason.IDENTIFIER_MISSING  # type: ignore[attr-defined]
    assert length(shop) == before


def test_update_sets_the_fields_of_that_lead_as_a_recorded_decision(shop: Leadkey) -> None:
    lead = shop.create_lead(WS, {"fields": {"phone": "9876543210", "rating": 2}}).lead_id
    assert lead is not None
    updated = shop.update_lead(WS, str(lead), {"city": "Pune"}, source={"api": "sync"})
    assert (updated.outcome, updated.lead_id) == (Outcome.UPDATED, lead)
    assert shop.lead(lead).fields == {"phone": "+919876543210", "rating": 2, "city": "Pune"}
    explained = shop.explain_position(updated.position)  # type: ignore[arg-type]
    assert explained is not None and explained.source == {"api": "sync"}  # type: ignore[union-attr]
    assert shop.replay(WS).exact
    report = shop.what_if(WS, Switch(identifier="city"))
    assert report.payloads == 2


def test_update_refusals_record_nothing(shop: Leadkey) -> None:
    lead = shop.create_lead(WS, {"fields": {"phone": "9876543210"}}).lead_id
    assert lead is not None
    before = length(shop)
    with pytest.raises(IdentifierImmutable, match="'phone'"):
        shop.update_lead(WS, lead, {"phone": "9876543211"})
    with pytest.raises(PayloadRejected, match="rating"):
        shop.update_lead(WS, lead, {"rating": "3", "city": "Pune"})  # all or nothing
    with pytest.raises(UnknownLead):
        shop.update_lead(WS, uuid4(), {"city": "Pune"})
    shop.create_workspace("other")
    with pytest.raises(UnknownLead):
        shop.update_lead("other", lead, {"city": "Pune"})
    assert length(shop) == before + 2  # ("other" and its sequence: nothing else)
    assert "city" not in shop.lead(lead).fields


def test_a_lead_its_identifier_no_longer_reaches_cannot_be_updated(shop: Leadkey) -> None:
    lead = shop.create_lead(WS, {"fields": {"phone": "9876543210"}}).lead_id
    shop.change_identifier(WS, "email")  # the lead has no email: no key reaches it
    before = length(shop)
    with pytest.raises(PayloadRejected, match="no longer reaches it"):
        shop.update_lead(WS, lead, {"city": "Pune"})  # type: ignore[arg-type]
    assert length(shop) == before


def test_a_write_of_one_lead_retried_under_its_key_answers_the_first_decision(
    shop: Leadkey,
) -> None:
    body = {"fields": {"phone": "9876543210", "city": "Pune"}}
    first = shop.create_lead(WS, body, key="create-1")
    before = length(shop)
    again = shop.create_lead(WS, body, key="create-1")
    assert again.repeated and (again.position, again.lead_id) == (first.position, first.lead_id)
    with pytest.raises(KeyReused):
        shop.create_lead(WS, {"fields": {"phone": "9876543211"}}, key="create-1")
    with pytest.raises(LeadExists):  # (another key: the lead exists)
        shop.create_lead(WS, body, key="create-2")
    assert first.lead_id is not None
    assert length(shop) == before
    updated = shop.update_lead(WS, first.lead_id, {"city": "Delhi"}, key="update-1")
    after = length(shop)
    repeated = shop.update_lead(WS, first.lead_id, {"city": "Delhi"}, key="update-1")
    assert repeated.repeated and repeated.position == updated.position
    assert length(shop) == after
