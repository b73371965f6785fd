"""The HTTP service under load: killed mid-flight, and several processes on PostgreSQL.

A 200 is a durable decision; a request that got no answer is recorded whole or not at
all, and its retry under the same idempotency key completes it exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

from leadkey import Leadkey  # noqa: E402
from leadkey.adapters.http import RECEIPT_HEADER  # noqa: E402
from leadkey.domain.lead import DECISION_EVENTS  # noqa: E402
from leadkey.projections.identifier_index import read_log  # noqa: E402

ASYNC = "/enterprise/acme/autoupdatelead"


def setup(store: str) -> str:
    with Leadkey(store) as app:
        app.create_workspace("acme")
        _, token = app.create_token("acme", "async", "load")
    return token


def body(n: int) -> dict[str, Any]:
    return {"fields": {"phone": f"98{n % 50:08d}", "name": f"request-{n}"}}


def decisions_by_request(store: str) -> Counter[str]:
    """How many decisions each request (by the name it set) has in the log."""
    with Leadkey(store, read_only=True) as app:
        return Counter(
            json.loads(event.payload)["fields"]["name"]
            for event, _ in read_log(app._log)
            if isinstance(event, DECISION_EVENTS)
        )


async def send(url: str, token: str, numbers: list[int], answers: dict[int, Any]) -> None:
    """Each number's request, from a few keep-alive clients; ``answers`` gets the answers
    that came (a connection error stops that client: the server is gone)."""

    async def client(mine: list[int]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for n in mine:
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"req-{n}"}
                try:
                    answers[n] = await http.post(ASYNC, json=body(n), headers=headers)
                except httpx.TransportError:
                    return

    await asyncio.gather(*(client(numbers[k::8]) for k in range(8)))


def test_killed_under_load_every_200_is_one_decision_and_retries_complete_the_rest(
    serve: Any, sqlite_url: str
) -> None:
    token = setup(sqlite_url)
    server = serve(sqlite_url)
    numbers = list(range(3000))
    answers: dict[int, Any] = {}
    loader = threading.Thread(target=asyncio.run, args=(send(server.url, token, numbers, answers),))
    loader.start()
    deadline = time.monotonic() + 60
    while len(answers) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # kill -9 mid-load
    loader.join()
    accepted = {n for n, a in answers.items() if a.status_code == 200}
    assert 200 <= len(accepted) < len(numbers), "the server was not killed mid-load"
    recorded = decisions_by_request(sqlite_url)
    assert all(recorded[f"request-{n}"] == 1 for n in accepted)  # every 200 is durable
    assert max(recorded.values()) == 1  # and nothing is recorded twice
    with Leadkey(sqlite_url, read_only=True) as app:
        for n in sorted(accepted)[:20]:
            explained = app.explain_decision("acme", int(answers[n].headers[RECEIPT_HEADER]))
            assert explained is not None and f"request-{n}" in str(explained.as_dict())

    again = serve(sqlite_url)  # restarted: clients retry what got no answer
    retried: dict[int, Any] = {}
    unanswered = [n for n in numbers if n not in accepted]
    asyncio.run(send(again.url, token, unanswered, retried))
    assert all(retried[n].status_code == 200 for n in unanswered)
    replayed = [n for n in unanswered if retried[n].headers.get("Idempotent-Replayed")]
    assert set(replayed) <= {n for n in unanswered if recorded[f"request-{n}"]}
    assert decisions_by_request(sqlite_url) == Counter({f"request-{n}": 1 for n in numbers})
    with Leadkey(sqlite_url, read_only=True) as app:
        assert app.replay("acme").exact
        assert app.workspace_info("acme").leads == 50


def test_four_clients_and_two_server_processes_on_postgres(serve: Any) -> None:
    from conftest import postgres_schema

    with postgres_schema() as store:
        token = setup(store)
        server = serve(store, "--workers", "2")
        answers: dict[int, Any] = {}

        async def four_clients() -> None:
            # overlapping keys: the same 50 phone numbers, and each request sent twice
            numbers = [n for n in range(400) for _ in range(2)]
            await asyncio.gather(
                *(send(server.url, token, numbers[k::4], answers) for k in range(4))
            )

        asyncio.run(four_clients())
        assert len(answers) == 400 and all(a.status_code == 200 for a in answers.values())
        assert decisions_by_request(store) == Counter({f"request-{n}": 1 for n in range(400)})
        with Leadkey(store, read_only=True) as app:
            assert app.workspace_info("acme").leads == 50  # one lead per key
            assert app.replay("acme").exact
