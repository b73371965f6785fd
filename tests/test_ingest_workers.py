"""Preparing payloads in worker processes changes nothing but speed."""

from __future__ import annotations

import multiprocessing
import os
import signal
from typing import Any

from leadkey.adapters.application import Leadkey

STREAM = [
    {"fields": {"phone": phone, "email": email, "name": f"n{i}"}}
    for i, (phone, email) in enumerate(
        [("9999999991", "a@x.com"), ("+91 99999 99991", "b@x.com"), ("99999", "c@x.com")] * 5
        + [("09999999992", "A@X.com"), ("9999999993", None), ("919999999992", "d@x.com")] * 5
    )
]


def decisions(workers: int, switch_after: int | None) -> list[Any]:
    app = Leadkey("memory:")
    app.create_workspace("w")
    seen = []
    for n, decision in enumerate(
        app.ingest_many("w", STREAM, batch_size=4, workers=workers), start=1
    ):
        seen.append({**decision.as_dict(), "position": None, "recorded_at": None})
        if n == switch_after:  # the configuration changes while batches are prepared ahead
            app.change_identifier("w", "email")
    app.close()
    return seen


def test_workers_give_the_same_decisions() -> None:
    assert decisions(1, None) == decisions(0, None)


def test_batches_prepared_under_an_old_identifier_are_prepared_again() -> None:
    with_workers = decisions(2, switch_after=5)
    assert with_workers == decisions(0, switch_after=5)
    assert {d["key"] for d in with_workers[8:] if d["key"]} <= {
        "a@x.com",
        "b@x.com",
        "c@x.com",
        "d@x.com",
    }


def test_a_worker_that_dies_loses_no_payload() -> None:
    app = Leadkey("memory:")
    app.create_workspace("w")
    seen = []
    for decision in app.ingest_many("w", STREAM, batch_size=2, workers=1):
        seen.append({**decision.as_dict(), "position": None, "recorded_at": None})
        if len(seen) == 1:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
    assert seen == decisions(0, None)
    app.close()
