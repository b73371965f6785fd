"""The HTTP service's idempotency keys and rate limits, against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import log_end

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

from leadkey import Leadkey  # noqa: E402
from leadkey.adapters.http import RECEIPT_HEADER  # noqa: E402

ASYNC = "/enterprise/acme/autoupdatelead"


def tokens(store: str) -> tuple[str, str]:
    with Leadkey(store) as app:
        app.create_workspace("acme")
        _, first = app.create_token("acme", "async", "web")
        _, second = app.create_token("acme", "async", "forms")
    return first, second


def post(client: Any, token: str, body: Any, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(ASYNC, json=body, headers=headers)


def test_a_retry_under_its_idempotency_key_gets_the_first_answer(
    serve: Any, sqlite_url: str
) -> None:
    token, other_token = tokens(sqlite_url)
    server = serve(sqlite_url)
    body = {"fields": {"phone": "+91 98765 43210", "name": "Asha"}}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        first = post(client, token, body, key="order-1")
        end = log_end(sqlite_url)
        again = post(client, other_token, body, key="order-1")  # (any token of the workspace)
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json() == first.json() == {"status": "QUEUED"}
        assert again.headers[RECEIPT_HEADER] == first.headers[RECEIPT_HEADER]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert log_end(sqlite_url) == end  # nothing recorded
        changed = post(client, token, {"fields": {"phone": "9876543211"}}, key="order-1")
        assert changed.status_code == 422
        assert changed.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        bad = post(client, token, body, key="x" * 300)
        assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["error"]["message"]
        assert log_end(sqlite_url) == end


def test_concurrent_requests_with_one_key_make_one_decision(serve: Any, durable_url: str) -> None:
    token, _ = tokens(durable_url)
    server = serve(durable_url)

    async def send() -> list[Any]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same"}
        body = {"fields": {"phone": "9876543210"}}
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return await asyncio.gather(
                *(client.post(ASYNC, json=body, headers=headers) for _ in range(16))
            )

    responses = asyncio.run(send())
    assert [r.status_code for r in responses] == [200] * 16
    assert len({r.headers[RECEIPT_HEADER] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in responses) == 1
    with Leadkey(durable_url, read_only=True) as app:
        assert app.replay("acme").decisions == {"created": 1}


def test_a_token_over_its_rate_limit_is_429_and_records_nothing(
    serve: Any, sqlite_url: str
) -> None:
    token, other_token = tokens(sqlite_url)
    server = serve(sqlite_url, "--rate-limit", "3")
    body = {"fields": {"phone": "9876543210"}}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert [post(client, token, body).status_code for _ in range(3)] == [200] * 3
        end = log_end(sqlite_url)
        refused = post(client, token, body)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert log_end(sqlite_url) == end
        assert post(client, other_token, body).status_code == 200  # counted per token


def test_the_rate_limit_holds_across_worker_processes(serve: Any, sqlite_url: str) -> None:
    token, _ = tokens(sqlite_url)
    server = serve(sqlite_url, "--rate-limit", "10", "--workers", "2")
    statuses = []
    for _ in range(16):  # a new connection each time: both workers take some
        with httpx.Client(base_url=server.url, timeout=30) as client:
            statuses.append(post(client, token, {"fields": {"phone": "9876543210"}}).status_code)
    assert statuses.count(200) == 10 and statuses.count(429) == 6
