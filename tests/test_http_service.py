"""The HTTP service as a client sees it: the real server (``leadkey serve``) in a
subprocess, driven with httpx over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import log_end

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

from leadkey import Leadkey, Outcome, StoreUnavailable  # noqa: E402
from leadkey.adapters.http import RECEIPT_HEADER, create_app  # noqa: E402
from leadkey.domain.payload import MAX_PAYLOAD_BYTES  # noqa: E402

PHONE = "+91 99999 99999"
ASYNC = "/enterprise/acme/autoupdatelead"


class Setup:
    """A store with workspaces ``acme`` and ``other``, each with an async and a sync
    token, served by ``leadkey serve``."""

    def __init__(self, store: str, server: Any) -> None:
        self.store = store
        with Leadkey(store) as app:
            app.create_workspace("acme")
            app.create_workspace("other")
            self.async_info, self.async_token = app.create_token("acme", "async", "web")
            self.sync_info, self.sync_token = app.create_token("acme", "sync", "reader")
            _, self.other_async = app.create_token("other", "async", "web")
        self.server = server(store)
        self.client = httpx.Client(base_url=self.server.url, timeout=30)

    def post(self, body: Any, token: str | None = None, path: str = ASYNC) -> Any:
        token = self.async_token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(body, bytes | str):
            return self.client.post(path, content=body, headers=headers)
        return self.client.post(path, json=body, headers=headers)

    def receipt(self, receipt: object, token: str | None = None, ws: str = "acme") -> Any:
        token = self.sync_token if token is None else token
        headers = {"Authorization": f"Bearer {token}"}
        return self.client.get(f"/enterprise/{ws}/receipts/{receipt}", headers=headers)


@pytest.fixture
def api(serve: Any, sqlite_url: str) -> Any:
    setup = Setup(sqlite_url, serve)
    yield setup
    setup.client.close()


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert "Traceback" not in response.text
    return str(body["error"]["code"])


def test_an_accepted_payload_is_queued_with_a_receipt_that_explains_its_decision(
    api: Setup,
) -> None:
    response = api.post({"fields": {"phone": PHONE, "name": "Jane"}})
    assert response.status_code == 200
    assert response.json() == {"status": "QUEUED"}
    receipt = int(response.headers[RECEIPT_HEADER])
    found = api.receipt(receipt)
    assert found.status_code == 200
    body = found.json()
    assert body["receipt"] == receipt and body["decision"]["position"] == receipt
    assert body["decision"]["outcome"] == "created"
    assert body["decision"]["key"] == "+919999999999"
    assert body["decision"]["source"] == {"api": "async", "token": str(api.async_info.token_id)}
    assert "created lead" in body["why"]
    again = api.post({"fields": {"phone": "09999999999", "name": "Jane D"}})
    assert api.receipt(again.headers[RECEIPT_HEADER]).json()["decision"]["outcome"] == "updated"


def test_a_payload_the_rules_drop_is_still_queued_and_its_receipt_says_why(api: Setup) -> None:
    response = api.post({"fields": {"name": "no phone"}})
    assert response.status_code == 200
    decision = api.receipt(response.headers[RECEIPT_HEADER]).json()["decision"]
    assert (decision["outcome"], decision["reason"]) == ("dropped", "identifier_missing")
    deep = "{" + '"fields": {"phone": "9999999999", "x": ' + "[" * 40 + "]" * 40 + "}}"
    response = api.post(deep)
    assert response.status_code == 200  # JSON, past a limit: recorded as dropped
    decision = api.receipt(response.headers[RECEIPT_HEADER]).json()["decision"]
    assert decision["reason"] == "payload_too_deep"


@pytest.mark.parametrize(
    "token",
    ["", "lk_async_not-a-token", "other", "sync", "revoked"],
    ids=["missing", "unknown", "other-workspace", "wrong-type", "revoked"],
)
def test_a_request_without_a_valid_async_token_is_401_and_records_nothing(
    api: Setup, token: str
) -> None:
    if token == "revoked":
        with Leadkey(api.store) as app:
            _, token = app.create_token("acme", "async", "soon revoked")
            assert api.post({"fields": {"phone": PHONE}}, token).status_code == 200
            app.revoke_token("acme", "soon revoked")
    token = {"other": api.other_async, "sync": api.sync_token}.get(token, token)
    before = log_end(api.store)
    response = api.post({"fields": {"phone": PHONE}}, token)
    assert response.status_code == 401
    assert error_code(response) == "NOT_AUTHORIZED"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert log_end(api.store) == before


def test_other_ways_of_not_sending_a_token_are_401(api: Setup) -> None:
    for headers in ({"Authorization": f"Basic {api.async_token}"}, {"Authorization": "Bearer"}):
        response = api.client.post(ASYNC, json={"fields": {}}, headers=headers)
        assert response.status_code == 401 and error_code(response) == "NOT_AUTHORIZED"
    for workspace in ("nowhere", "other"):
        response = api.post(
            {"fields": {"phone": PHONE}}, path=f"/enterprise/{workspace}/autoupdatelead"
        )
        assert response.status_code == 401 and error_code(response) == "NOT_AUTHORIZED"


def test_a_revoked_token_fails_from_the_next_call(api: Setup) -> None:
    assert api.post({"fields": {"phone": PHONE}}).status_code == 200
    with Leadkey(api.store) as app:
        app.revoke_token("acme", str(api.async_info.token_id))
    response = api.post({"fields": {"phone": PHONE}})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the token was revoked"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"fields": ',
        b"\xff\xfe{}",
        b"\xef\xbb\xbf{}",
    ],
    ids=["empty", "text", "array", "string", "null", "truncated", "not-utf8", "bom"],
)
def test_a_body_that_is_not_a_json_object_is_400_and_records_nothing(
    api: Setup, body: bytes
) -> None:
    before = log_end(api.store)
    response = api.post(body)
    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"
    assert log_end(api.store) == before


def test_a_body_over_the_size_limit_is_413_and_records_nothing(api: Setup) -> None:
    padding = MAX_PAYLOAD_BYTES - len('{"fields": {"phone": "9999999999", "x": ""}}')
    exactly = '{"fields": {"phone": "9999999999", "x": "' + "a" * padding + '"}}'
    assert len(exactly.encode()) == MAX_PAYLOAD_BYTES
    before = log_end(api.store)
    response = api.post(exactly[:-2] + 'a"}}')
    assert response.status_code == 413
    assert error_code(response) == "PAYLOAD_TOO_LARGE"
    assert log_end(api.store) == before
    assert api.post(exactly).status_code == 200  # the limit itself is accepted


def test_receipts_need_a_sync_token_of_the_workspace(api: Setup) -> None:
    receipt = api.post({"fields": {"phone": PHONE}}).headers[RECEIPT_HEADER]
    assert api.receipt(receipt, api.async_token).status_code == 401
    assert api.receipt(receipt, "lk_sync_nope").status_code == 401
    assert api.receipt(receipt, ws="other").status_code == 401
    assert api.receipt(receipt).status_code == 200


def test_a_receipt_that_is_not_a_decision_of_the_workspace_is_404(api: Setup) -> None:
    other = api.post(
        {"fields": {"phone": PHONE}}, api.other_async, "/enterprise/other/autoupdatelead"
    )
    assert other.status_code == 200
    not_decisions = ["1", "2", "0", "999999", "-1", "abc", "１", str(2**63), "9" * 30]
    for receipt in [other.headers[RECEIPT_HEADER], *not_decisions]:
        response = api.receipt(receipt)
        assert response.status_code == 404, receipt
        assert error_code(response) == "NOT_FOUND"


def test_unknown_routes_and_methods_answer_in_the_envelope(api: Setup) -> None:
    assert error_code(api.client.get("/nothing")) == "NOT_FOUND"
    response = api.client.get(ASYNC)
    assert response.status_code == 405 and error_code(response) == "METHOD_NOT_ALLOWED"


def test_a_200_means_durable_even_if_the_server_is_killed_at_once(api: Setup) -> None:
    response = api.post({"fields": {"phone": PHONE, "name": "durable"}})
    assert response.status_code == 200
    api.server.kill()  # kill -9 right after the answer
    with Leadkey(api.store) as app:
        explained = app.explain_decision("acme", int(response.headers[RECEIPT_HEADER]))
        assert explained is not None and explained.outcome == Outcome.CREATED.value
        assert explained.changes["name"] == (None, "durable")


def test_concurrent_requests_share_commits(api: Setup) -> None:
    with Leadkey(api.store, read_only=True) as app:
        steps_before = app.workspace("acme").sequence

    async def send_all(n: int) -> list[Any]:
        headers = {"Authorization": f"Bearer {api.async_token}"}
        async with httpx.AsyncClient(base_url=api.server.url, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(ASYNC, json={"fields": {"phone": f"98765{i:05d}"}}, headers=headers)
                    for i in range(n)
                )
            )

    responses = asyncio.run(send_all(32))
    assert [r.status_code for r in responses] == [200] * 32
    receipts = {int(r.headers[RECEIPT_HEADER]) for r in responses}
    assert len(receipts) == 32
    with Leadkey(api.store, read_only=True) as app:
        steps = app.workspace("acme").sequence - steps_before
        assert app.workspace_info("acme").leads == 32
    assert 1 <= steps < 32  # batches: fewer decision-sequence steps than payloads


# -- in-process: what a live server cannot easily be made to do -------------------------------


def in_process(leadkey: Leadkey, *steps: Any) -> list[Any]:
    """Run the application over ``leadkey`` in this process (its lifespan too) and send it
    ``steps``: each a request's keyword arguments, or a callable to call in between."""

    async def run() -> list[Any]:
        app = create_app(leadkey)
        responses = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                for step in steps:
                    if callable(step):
                        step()
                    else:
                        responses.append(await client.request(**step))
        return responses

    return asyncio.run(run())


def test_an_unavailable_store_is_503_without_a_traceback() -> None:
    leadkey = Leadkey("memory:")
    leadkey.create_workspace("acme")
    _, token = leadkey.create_token("acme", "async", "web")
    request = {
        "method": "POST",
        "url": ASYNC,
        "json": {"fields": {"phone": PHONE}},
        "headers": {"Authorization": f"Bearer {token}"},
    }
    accepted, refused = in_process(leadkey, request, leadkey.close, request)
    assert accepted.status_code == 200
    with pytest.raises(StoreUnavailable):
        leadkey.authenticate("acme", token, "async")
    assert refused.status_code == 503
    assert error_code(refused) == "SERVICE_UNAVAILABLE"
    assert refused.headers["retry-after"]


def test_an_unexpected_error_is_500_in_the_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    leadkey = Leadkey("memory:")
    leadkey.create_workspace("acme")
    _, token = leadkey.create_token("acme", "async", "web")

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(leadkey, "ingest_async", broken)
    (response,) = in_process(
        leadkey,
        {
            "method": "POST",
            "url": ASYNC,
            "json": {"fields": {"phone": PHONE}},
            "headers": {"Authorization": f"Bearer {token}"},
        },
    )
    assert response.status_code == 500
    assert error_code(response) == "INTERNAL_ERROR"
    assert "secret internals" not in response.text
    assert leadkey.closed  # the lifespan closed it
