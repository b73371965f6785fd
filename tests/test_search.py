"""Lead search in the service (``Leadkey.search_leads``), in memory and on the stores
that keep the index: the identifier through the index, other filters over the leads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_schema

from leadkey import InvalidSearch, Leadkey, SearchNeedsScan, UnknownWorkspace

FIELDS = {
    "rating": "rating",
    "city": "text",
    "alt_phone": "phone",
    "follow_up": "date",
    "interests": "tags",
    "status": "text",
}
LEADS = [  # created in this order
    {"phone": "9876543210", "name": "Asha", "city": "Pune", "rating": 4, "status": "Fresh"},
    {"phone": "9876543211", "name": "Ravi", "city": "PUNE", "rating": 3, "interests": ["VIP"]},
    {"phone": "9876543212", "name": "Kiran", "city": "Straße", "alt_phone": "9888888888"},
    {"phone": "9876543213", "name": "Meera", "follow_up": "01/06/2026", "status": "fresh"},
]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Leadkey]:
    """The leads above in workspace ``w`` (and the first in ``other``), on each store."""
    with ExitStack() as stack:
        url = {"memory": "memory:", "sqlite": f"sqlite:///{tmp_path / 'leads.db'}"}.get(
            request.param
        ) or stack.enter_context(postgres_schema())
        app = stack.enter_context(Leadkey(url))
        app.create_workspace("w", fields=FIELDS)
        app.create_workspace("other", fields=FIELDS)
        for fields in LEADS:
            app.create_lead("w", {"fields": fields})
        app.create_lead("other", {"fields": LEADS[0]})
        yield app


def found(app: Leadkey, filters: Any = None, **page: Any) -> list[str]:
    total, leads = app.search_leads("w", filters, **page)
    assert total >= len(leads)
    return [lead.fields["name"] for lead in leads]


def test_no_filter_lists_every_lead_newest_first_by_pages(shop: Leadkey) -> None:
    assert found(shop) == found(shop, {}) == ["Meera", "Kiran", "Ravi", "Asha"]
    assert shop.search_leads("w", skip=1, limit=2)[0] == 4
    assert found(shop, skip=1, limit=2) == ["Kiran", "Ravi"]
    assert found(shop, skip=4) == []


def test_the_identifier_in_any_spelling_through_the_index(shop: Leadkey) -> None:
    assert found(shop, {"phone": "+91 98765-43210"}) == ["Asha"]
    assert found(shop, {"phone": ["09876543213", "919876543211", "98765 43210"]}) == [
        "Meera",
        "Ravi",
        "Asha",
    ]
    assert found(shop, {"phone": ["9876543210", "+919876543210"]}) == ["Asha"]  # once
    assert found(shop, {"phone": ["9876543210", "9876543211"], "city": "pune"}) == [
        "Ravi",
        "Asha",
    ]
    assert found(shop, {"phone": "9876543212", "city": "pune"}) == []
    assert found(shop, {"phone": ["not a phone", 9876543210, "9999999999"]}) == []
    assert found(shop, {"phone": []}) == []
    total, page = shop.search_leads("w", {"phone": ["9876543210", "9876543211"]}, skip=1)
    assert (total, [lead.fields["name"] for lead in page]) == (2, ["Asha"])


def test_a_search_asked_not_to_scan_answers_only_through_the_index(shop: Leadkey) -> None:
    by_phone = {"phone": "+91 98765 43211", "city": "pune"}
    assert shop.search_leads("w", by_phone, scan=False) == shop.search_leads("w", by_phone)
    assert shop.search_leads("w", scan=False)[0] == 4  # (no filter: the page only)
    with pytest.raises(SearchNeedsScan):
        shop.search_leads("w", {"city": "pune"}, scan=False)
    assert found(shop, {"city": "pune"}) == ["Ravi", "Asha"]


def test_other_fields_exact_ignoring_case_with_or_and_and(shop: Leadkey) -> None:
    assert found(shop, {"city": "pune"}) == ["Ravi", "Asha"]
    assert found(shop, {"city": "STRASSE"}) == ["Kiran"]  # full case folding
    assert found(shop, {"city": ["straße", "Pune"]}) == ["Kiran", "Ravi", "Asha"]
    assert found(shop, {"city": "pune", "rating": [4, 5]}) == ["Asha"]
    assert found(shop, {"city": "Pun"}) == []
    assert found(shop, {"rating": "4"}) == [] and found(shop, {"rating": True}) == []
    assert found(shop, {"name": "asha", "nickname": "x"}) == []  # an undefined field
    assert found(shop, {"interests": "vip"}) == ["Ravi"]  # one of its tags
    total, page = shop.search_leads("w", {"city": ["pune", "straße"]}, skip=1, limit=1)
    assert (total, [lead.fields["name"] for lead in page]) == (3, ["Ravi"])


def test_values_read_as_their_fields_type(shop: Leadkey) -> None:
    assert found(shop, {"alt_phone": "+91 98888 88888"}) == ["Kiran"]  # the identifier's type
    assert found(shop, {"follow_up": "01/06/2026"}) == ["Meera"]
    assert found(shop, {"follow_up": 1780272000000}) == ["Meera"]  # epoch ms, same instant
    assert found(shop, {"follow_up": "2026-06-01"}) == []


def test_status_keeps_its_case(shop: Leadkey) -> None:
    assert found(shop, {"status": "Fresh"}) == ["Asha"]
    assert found(shop, {"status": "fresh"}) == ["Meera"]
    assert found(shop, {"name": "MEERA", "status": "fresh"}) == ["Meera"]


def test_a_search_stays_in_its_workspace(shop: Leadkey) -> None:
    total, [lead] = shop.search_leads("other", {"phone": "9876543210"})
    assert total == 1 and shop.lead(lead.lead_id, workspace="other") == lead
    assert shop.search_leads("other", {"city": "pune"})[0] == 1
    assert shop.search_leads("other")[0] == 1


@pytest.mark.parametrize(
    ("filters", "page", "message"),
    [
        (None, {"limit": 101}, "Limit should be between 1 and 100"),
        (None, {"limit": 0}, "Limit should be between 1 and 100"),
        (None, {"limit": True}, "Limit should be between 1 and 100"),
        (None, {"skip": -1}, "Skip should be 0 or more"),
        ({"created_on": {"from": 0, "to": 1}}, {}, "unsupported filter 'fields.created_on'"),
        ({"city": {"eq": "x"}}, {}, "a value is a string, number or boolean"),
        ({"city": [None]}, {}, "a value is a string, number or boolean"),
        ({"phone": [["9876543210"]]}, {}, "a value is a string, number or boolean"),
    ],
)
def test_searches_that_cannot_run(
    shop: Leadkey, filters: Any, page: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSearch, match=message):
        shop.search_leads("w", filters, **page)


def test_an_unknown_workspace(shop: Leadkey) -> None:
    with pytest.raises(UnknownWorkspace):
        shop.search_leads("nope", {"phone": "9876543210"})
