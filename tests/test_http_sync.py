"""The Sync API as a client sees it: leads (create, read, update, search), metadata and
field definitions, against the real server (``leadkey serve``) over loopback; the
reference's Sync vectors 48-54 among them."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import uuid4

import pytest
from conftest import log_end

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

from leadkey import Leadkey  # noqa: E402
from leadkey.adapters.http import RECEIPT_HEADER  # noqa: E402

FIELDS = {"rating": "rating", "city": "text", "alt_phone": "phone", "follow_up": "date"}
L1 = "919999999999"  # the reference's lead L1, key +919999999999


class Sync:
    """Workspaces ``acme`` (country IN, identifier phone, the fields above) and
    ``other``, each with a sync token (and acme an async one), served by ``leadkey
    serve``; lead L1 exists in acme."""

    def __init__(self, store: str, serve: Any) -> None:
        self.store = store
        with Leadkey(store) as app:
            app.create_workspace("acme", fields=FIELDS)
            app.create_workspace("other", fields=FIELDS)
            self.token_info, self.token = app.create_token("acme", "sync", "crm")
            _, self.async_token = app.create_token("acme", "async", "web")
            _, self.other_token = app.create_token("other", "sync", "crm")
        self.server = serve(store)
        self.client = httpx.Client(base_url=self.server.url, timeout=30)
        created = self.call("POST", "/lead", {"fields": {"phone": L1, "name": "Jane", "rating": 2}})
        assert created.status_code == 201, created.text
        self.l1 = created.json()["lead_id"]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        ws: str = "acme",
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        token = self.token if token is None else token
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        sent.update(headers or {})
        content = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
        if content is not None:
            sent["Content-Type"] = "application/json"
        return self.client.request(
            method, f"/enterprise/{ws}{path}", content=content, headers=sent, params=params
        )

    def search(self, fields: Any = None, **params: Any) -> Any:
        body = None if fields is None else {"fields": fields}
        return self.call("POST", "/lead/search", body, params=params)


@pytest.fixture
def sync(serve: Any, sqlite_url: str) -> Any:
    setup = Sync(sqlite_url, serve)
    yield setup
    setup.client.close()


def error(response: Any, status: int, code: str) -> str:
    """The refusal's message, once its status, envelope and code are as expected."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [lead["fields"].get("name") for lead in response.json()["data"]]


# -- create -------------------------------------------------------------------------


def test_create_answers_201_with_remarks_for_fields_not_saved(sync: Sync) -> None:
    # vector 50: a rating out of range is not saved, and said so; the lead is created
    body = {"fields": {"phone": "917777777777", "rating": 7, "utm": "x", "city": "Pune"}}
    response = sync.call("POST", "/lead", body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["actions"] == []
    assert answer["remarks"] == [
        {"field": "fields.rating", "status": "IGNORED", "remark": "Rating must be between 1 and 5"},
        {"field": "fields.utm", "status": "IGNORED", "remark": "not a field of this workspace"},
    ]
    lead = sync.call("GET", f"/lead/{answer['lead_id']}").json()
    assert lead == {
        "lead_id": answer["lead_id"],
        "fields": {"phone": "+917777777777", "city": "Pune"},
    }
    receipt = int(response.headers[RECEIPT_HEADER])
    decision = sync.call("GET", f"/receipts/{receipt}").json()["decision"]
    assert decision["outcome"] == "created" and decision["lead_id"] == answer["lead_id"]
    assert decision["source"] == {"api": "sync", "token": str(sync.token_info.token_id)}


@pytest.mark.parametrize("spelling", ["+919999999999", "09999999999", "+91 99999-99999"])
def test_create_with_an_existing_identifier_in_any_spelling_is_409(
    sync: Sync, spelling: str
) -> None:
    # vector 48: decided with the normalized key; the message names the lead
    before = log_end(sync.store)
    response = sync.call("POST", "/lead", {"fields": {"phone": spelling, "name": "Other"}})
    assert sync.l1 in error(response, 409, "LEAD_ALREADY_EXISTS")
    assert log_end(sync.store) == before
    assert sync.call("GET", f"/lead/{sync.l1}").json()["fields"]["name"] == "Jane"


@pytest.mark.parametrize(
    "body",
    [
        {"fields": {"name": "x"}},  # vector 49: no identifier
        {"fields": {"phone": "99999"}},
        {"fields": {"phone": None}},
        {"fields": {"phone": 919999999999}},
        {"fields": "phone"},
        {"phone": L1},
        {"fields": {"phone": "9876543210"}, "actions": "call"},
        [{"fields": {"phone": "9876543210"}}],
        "not json",
    ],
    ids=["missing", "unusable", "null", "number", "fields-not-object", "no-fields",
         "actions-not-array", "array", "not-json"],
)  # fmt: skip
def test_create_without_a_usable_identifier_or_payload_shape_is_400(sync: Sync, body: Any) -> None:
    before = log_end(sync.store)
    response = sync.call("POST", "/lead", body)
    assert "nothing recorded" in error(response, 400, "BAD_REQUEST") or "body" in response.text
    assert log_end(sync.store) == before


def test_create_records_actions_with_the_payload_and_applies_none(sync: Sync) -> None:
    actions = [{"type": "1001", "fields": {"note": "Site visit"}}]
    text = json.dumps({"fields": {"phone": "9876543210"}, "actions": actions})
    response = sync.call("POST", "/lead", text)
    assert response.status_code == 201 and response.json()["actions"] == []
    with Leadkey(sync.store, read_only=True) as app:
        [created] = app._log.events.get(app.lead(response.json()["lead_id"]).lead_id)
        assert created.payload == text  # type: ignore[attr-defined]


def test_create_with_an_idempotency_key_answers_a_retry_once(sync: Sync) -> None:
    body = {"fields": {"phone": "9876500000", "name": "Key"}}
    first = sync.call("POST", "/lead", body, headers={"Idempotency-Key": "order-7"})
    assert first.status_code == 201
    before = log_end(sync.store)
    again = sync.call("POST", "/lead", body, headers={"Idempotency-Key": '"order-7"'})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers[RECEIPT_HEADER] == first.headers[RECEIPT_HEADER]
    other = {"fields": {"phone": "9876500001"}}
    error(sync.call("POST", "/lead", other, headers={"Idempotency-Key": "order-7"}), 422,
          "IDEMPOTENCY_KEY_REUSED")  # fmt: skip
    error(sync.call("POST", "/lead", other, headers={"Idempotency-Key": "k" * 256}), 400,
          "BAD_REQUEST")  # fmt: skip
    assert log_end(sync.store) == before


# -- read ---------------------------------------------------------------------------


def test_read_a_lead_with_and_without_actions(sync: Sync) -> None:
    lead = sync.call("GET", f"/lead/{sync.l1}")
    assert lead.json() == {
        "lead_id": sync.l1,
        "fields": {"phone": "+919999999999", "name": "Jane", "rating": 2},
    }
    assert sync.call("GET", f"/lead/{sync.l1.upper()}").json()["lead_id"] == sync.l1
    params = {"includeActions": "true", "skip": 5, "limit": 20}
    with_actions = sync.call("GET", f"/lead/{sync.l1}", params=params).json()
    assert with_actions["actions"] == [] and with_actions["fields"] == lead.json()["fields"]
    assert (with_actions["actions_skip"], with_actions["actions_limit"]) == (5, 20)
    for limit in (0, 101, "x"):
        params = {"includeActions": "true", "limit": limit}
        response = sync.call("GET", f"/lead/{sync.l1}", params=params)
        assert error(response, 400, "BAD_REQUEST") == "Limit should be between 1 and 100"
    # (skip and limit are read only with includeActions, as on telecrm)
    assert sync.call("GET", f"/lead/{sync.l1}", params={"limit": 101}).status_code == 200
    error(sync.call("GET", f"/lead/{sync.l1}", params={"includeActions": "yes"}), 400,
          "BAD_REQUEST")  # fmt: skip


@pytest.mark.parametrize("lead", ["unknown", "not-a-uuid", "other-workspace"])
def test_reading_a_lead_that_is_not_this_workspaces_is_404(sync: Sync, lead: str) -> None:
    lead_id = {"unknown": str(uuid4()), "not-a-uuid": "L1"}.get(lead, sync.l1)
    response = sync.call("GET", f"/lead/{lead_id}", token=sync.other_token, ws="other")
    if lead != "other-workspace":
        response = sync.call("GET", f"/lead/{lead_id}")
    error(response, 404, "LEAD_NOT_FOUND")


# -- update -------------------------------------------------------------------------


def test_update_sets_the_fields_sent_and_answers_the_lead(sync: Sync) -> None:
    response = sync.call("POST", f"/lead/{sync.l1}", {"fields": {"rating": 4, "city": "Pune"}})
    assert response.status_code == 200, response.text
    expected = {"phone": "+919999999999", "name": "Jane", "rating": 4, "city": "Pune"}
    assert response.json() == {"fields": expected}
    decision = sync.call("GET", f"/receipts/{response.headers[RECEIPT_HEADER]}").json()
    assert decision["decision"]["outcome"] == "updated"
    assert decision["decision"]["lead_id"] == sync.l1
    assert decision["decision"]["source"]["api"] == "sync"
    ignored = sync.call("POST", f"/lead/{sync.l1}", {"fields": {"utm": "x", "city": None}})
    assert ignored.json() == {"fields": expected}  # (undefined or null: ignored)


def test_update_of_the_identifier_is_403_and_of_a_refused_value_400(sync: Sync) -> None:
    before = log_end(sync.store)
    # vector 51
    response = sync.call("POST", f"/lead/{sync.l1}", {"fields": {"phone": "918888888888"}})
    assert error(response, 403, "INVALID_LEAD") == "Cannot modify lead identifier field"
    # vector 52: all or nothing, every refused field in details
    body = {"fields": {"rating": "3", "follow_up": "2026-01-01T10:30:00Z", "city": "Pune"}}
    response = sync.call("POST", f"/lead/{sync.l1}", body)
    error(response, 400, "BAD_REQUEST")
    details = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert details["fields.rating"] == "Rating must be between 1 and 5"
    assert set(details) == {"fields.rating", "fields.follow_up"}
    for bad in ({"fields": []}, {"fields": {}, "actions": []}, [], "{"):
        error(sync.call("POST", f"/lead/{sync.l1}", bad), 400, "BAD_REQUEST")
    assert log_end(sync.store) == before
    assert sync.call("GET", f"/lead/{sync.l1}").json()["fields"] == {
        "phone": "+919999999999",
        "name": "Jane",
        "rating": 2,
    }


def test_a_sync_write_of_one_workspace_cannot_touch_anothers_lead(sync: Sync) -> None:
    before = log_end(sync.store)
    body = {"fields": {"name": "Hijacked"}}
    response = sync.call("POST", f"/lead/{sync.l1}", body, token=sync.other_token, ws="other")
    error(response, 404, "LEAD_NOT_FOUND")
    error(sync.call("POST", f"/lead/{uuid4()}", body), 404, "LEAD_NOT_FOUND")
    assert log_end(sync.store) == before
    assert sync.call("GET", f"/lead/{sync.l1}").json()["fields"]["name"] == "Jane"


# -- search -------------------------------------------------------------------------


def seed(sync: Sync) -> None:
    """Leads created in this order (newest last): Jane (L1), Asha, Ravi, Kiran."""
    for phone, name, city, rating in [
        ("9876543210", "Asha", "Pune", 4),
        ("9876543211", "Ravi", "PUNE", 3),
        ("9876543212", "Kiran", "Mumbai", 4),
    ]:
        body = {"fields": {"phone": phone, "name": name, "city": city, "rating": rating}}
        assert sync.call("POST", "/lead", body).status_code == 201


@pytest.mark.parametrize("spelling", ["9999999999", "+91 99999-99999", "09999999999", L1])
def test_search_by_any_spelling_of_the_identifier_finds_the_lead(sync: Sync, spelling: str) -> None:
    # vector 54
    response = sync.search({"phone": spelling})
    assert response.json() == {
        "data": [{"lead_id": sync.l1, "fields": {"phone": "+919999999999",
                                                  "name": "Jane", "rating": 2}}],
        "total_count": 1,
        "skip": 0,
        "limit": 10,
    }  # fmt: skip


def test_search_semantics(sync: Sync) -> None:
    seed(sync)
    assert names(sync.search()) == ["Kiran", "Ravi", "Asha", "Jane"]  # newest first
    assert names(sync.search({})) == ["Kiran", "Ravi", "Asha", "Jane"]
    assert names(sync.search({"city": "pune"})) == ["Ravi", "Asha"]  # case ignored
    assert names(sync.search({"city": ["mumbai", "Pune"]})) == ["Kiran", "Ravi", "Asha"]  # OR
    assert names(sync.search({"city": "pune", "rating": 4})) == ["Asha"]  # AND
    assert names(sync.search({"city": "Pun"})) == []  # exact: no substring
    assert names(sync.search({"rating": "4"})) == []  # a string is not the number 4
    assert names(sync.search({"nickname": "x"})) == []  # no lead has an undefined field
    # the identifier (through the index) with other filters, and an array of spellings
    assert names(sync.search({"phone": ["09876543210", "+919876543212"]})) == ["Kiran", "Asha"]
    assert names(sync.search({"phone": ["09876543210", "+919876543212"], "rating": 4,
                              "city": "PUNE"})) == ["Asha"]  # fmt: skip
    assert names(sync.search({"phone": ["09876543210"], "city": "Mumbai"})) == []
    assert names(sync.search({"phone": "not a phone"})) == []


def test_search_pages_with_skip_limit_and_total_count(sync: Sync) -> None:
    seed(sync)
    page = sync.search({"rating": [2, 3, 4]}, skip=1, limit=2).json()
    assert [lead["fields"]["name"] for lead in page["data"]] == ["Ravi", "Asha"]
    assert (page["total_count"], page["skip"], page["limit"]) == (4, 1, 2)
    everyone = sync.search(None, skip=3, limit=5).json()
    assert [lead["fields"]["name"] for lead in everyone["data"]] == ["Jane"]
    assert everyone["total_count"] == 4
    assert sync.search(None, skip=10).json()["data"] == []
    by_phone = sync.search({"phone": ["9876543210", "9876543211"]}, skip=1, limit=1).json()
    assert [lead["fields"]["name"] for lead in by_phone["data"]] == ["Asha"]
    assert by_phone["total_count"] == 2


def test_search_by_another_field_of_the_identifiers_type_is_normalized(sync: Sync) -> None:
    body = {"fields": {"phone": "9876543210", "alt_phone": "+91 98888 88888"}}
    assert sync.call("POST", "/lead", body).status_code == 201
    assert len(sync.search({"alt_phone": "09888888888"}).json()["data"]) == 1
    dated = {"fields": {"phone": "9876543213", "follow_up": "01/06/2026 10:30:00"}}
    assert sync.call("POST", "/lead", dated).status_code == 201
    assert sync.search({"follow_up": 1780309800000}).json()["total_count"] == 1


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({"limit": 101}, None, "Limit should be between 1 and 100"),  # vector 53
        ({"limit": 0}, None, "Limit should be between 1 and 100"),
        ({"limit": "ten"}, None, "Limit should be between 1 and 100"),
        ({"skip": -1}, None, "Skip should be 0 or more"),
        ({}, {"fields": {"created_on": {"from": 0, "to": 1}}}, "unsupported filter"),
        ({}, {"actions": {"type": "1001"}}, "unsupported filter"),
        ({}, {"field": {"name": "x"}}, "unknown search key"),
        ({}, {"fields": {"name": {"x": 1}}}, "a value is a string, number or boolean"),
        ({}, {"fields": {"name": None}}, "a value is a string, number or boolean"),
        ({}, [], "not a JSON object"),
    ],
)
def test_search_refusals(sync: Sync, params: dict[str, Any], body: Any, message: str) -> None:
    response = sync.call("POST", "/lead/search", body, params=params)
    assert message in error(response, 400, "BAD_REQUEST")


# -- metadata and field definitions ---------------------------------------------------


def test_metadata(sync: Sync) -> None:
    with Leadkey(sync.store, read_only=True) as app:
        config = app.workspace_info("acme").config
        created = app.workspace_created("acme")
    body = sync.call("GET", "/metadata").json()
    assert body == {
        "name": "acme",
        "id": str(config.workspace_id),
        "creationTimeStamp": int(created.timestamp() * 1000),
        "leadIdentifierFieldId": "phone",
        "country": "IN",
        "timezone": "UTC",
    }
    assert 0 < time.time() * 1000 - body["creationTimeStamp"] < 120_000


def test_custom_fields(sync: Sync) -> None:
    fields = sync.call("GET", "/custom-fields").json()
    assert [f["apiName"] for f in fields] == ["name", "phone", "email", *FIELDS]
    assert fields[1] == {
        "type": "PHONE",
        "apiName": "phone",
        "lockAfterCreate": False,
        "isLeadid": True,
        "options": [],
    }
    assert [f["type"] for f in fields[3:]] == ["RATING", "TEXT", "PHONE", "DATE"]
    assert [f["apiName"] for f in fields if f["isLeadid"]] == ["phone"]
    detailed = sync.call("GET", "/custom-fields", params={"detail": "true"}).json()
    assert [{**f, "id": None, "description": None} for f in detailed] == [
        {**f, "id": None, "description": None} for f in fields
    ]
    assert all(f["id"] == f["apiName"] and f["description"] == "" for f in detailed)
    one = sync.call("GET", "/custom-fields/rating").json()
    assert one == detailed[3]
    message = error(sync.call("GET", "/custom-fields/Rating"), 404, "NOT_FOUND")
    assert message == "Could not find custom field with apiName 'Rating'"
    error(sync.call("GET", "/custom-fields", params={"detail": "1"}), 400, "BAD_REQUEST")


# -- authorization and the record -----------------------------------------------------

ENDPOINTS = [
    ("POST", "/lead", {"fields": {"phone": "9876543299"}}),
    ("POST", "/lead/search", {"fields": {}}),
    ("GET", "/lead/{l1}", None),
    ("POST", "/lead/{l1}", {"fields": {"name": "x"}}),
    ("GET", "/metadata", None),
    ("GET", "/custom-fields", None),
    ("GET", "/custom-fields/phone", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_sync_endpoints_refuse_an_async_token_another_workspaces_and_none(
    sync: Sync, method: str, path: str, body: Any
) -> None:
    before = log_end(sync.store)
    path = path.format(l1=sync.l1)
    for token in (sync.async_token, sync.other_token, "", "lk_sync_unknown"):
        response = sync.call(method, path, body, token=token)
        error(response, 401, "NOT_AUTHORIZED")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert log_end(sync.store) == before
    assert sync.call(method, path, body).status_code in (200, 201)


def test_every_sync_write_is_a_recorded_decision_and_replay_is_exact(sync: Sync) -> None:
    seed(sync)
    sync.call("POST", f"/lead/{sync.l1}", {"fields": {"city": "Delhi", "rating": 5}})
    sync.call("POST", "/lead", {"fields": {"phone": "9876543220", "rating": 9}})
    sync.call("POST", f"/lead/{sync.l1}", {"fields": {"rating": "3"}})  # refused: not recorded
    with Leadkey(sync.store, read_only=True) as app:
        report = app.replay("acme")
        assert report.exact and report.decisions == {"created": 5, "updated": 1}
        leads = list(app.leads("acme"))
        sources = [d.source for lead in leads for d in app.explain_lead(lead.lead_id)]
        assert len(sources) == 6
        assert all(s == {"api": "sync", "token": str(sync.token_info.token_id)} for s in sources)
