"""Replay with a worker normalizing ahead: the same report, whatever the worker does.

The worker only fills this process's normalization memos with results of the same
pure functions, so these tests check that the memos can be primed faithfully, that the
worker's results do arrive, and that a replay with it (or with a dead one) reports
exactly what a replay without it does.
"""

from __future__ import annotations

import gc
import json
import pickle
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import run_process

from leadkey.adapters.application import Leadkey
from leadkey.adapters.lookahead import NormalizingAhead, replay_with_workers
from leadkey.adapters.stores import StoreError
from leadkey.adapters.strategies import email_variants, emails, valid_phone_numbers
from leadkey.domain import normalization
from leadkey.domain.decisions import MatchConfig, normalize_ahead
from leadkey.domain.field_types import FieldType
from leadkey.domain.memo import Memo
from leadkey.domain.normalization import UnusableValue, email_key, phone_key
from leadkey.domain.workspace import WORKSPACE_EVENTS, workspace_id
from leadkey.projections.audit import replay
from leadkey.projections.identifier_index import (
    BULK_GC_THRESHOLD,
    IdentifierIndexProjection,
    fewer_collections,
)

SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda n: f"+91{n}",
    lambda n: n,
    lambda n: f"0{n}",
    lambda n: f"+91 {n[:5]} {n[5:]}",
    lambda n: f"0091{n}",
)


def build_store(path: Path, payloads: int = 3000) -> str:
    """A store of ``payloads`` payloads with an email switch and a country change."""
    url = f"sqlite:///{path}"
    app = Leadkey(url)
    app.create_workspace("w", fields={"rating": "rating"})
    rng = random.Random(5)
    numbers = [f"9{rng.randrange(10**8, 10**9)}" for _ in range(payloads // 3)]
    lines = []
    for n in range(payloads):
        lead = rng.randrange(len(numbers))
        fields: dict[str, Any] = {"name": f"Lead {lead}", "rating": rng.randrange(0, 7)}
        fields["phone"] = rng.choice((*SPELLINGS, lambda _: "N/A"))(numbers[lead])
        if rng.random() < 0.7:
            fields["email"] = f"Lead{lead}@Example.com" if n % 3 else f"lead{lead}@example.com"
        lines.append(json.dumps({"fields": fields}))
    third = payloads // 3
    list(app.ingest_many("w", lines[:third]))
    app.change_identifier("w", "email")
    list(app.ingest_many("w", lines[third : 2 * third]))
    app.change_country("w", "US")
    list(app.ingest_many("w", lines[2 * third :]))
    app.close()
    return url


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_store(tmp_path_factory.mktemp("lookahead") / "store.db")


@contextmanager
def worker_ahead(app: Leadkey, until: int | None = None) -> Iterator[NormalizingAhead]:
    """A worker whose first results have arrived in this process's (emptied) memos:
    a small log would otherwise be replayed before the worker has started."""
    normalization.forget()
    with NormalizingAhead(app, "w", until) as ahead:
        deadline = time.monotonic() + 60
        while not len(normalization._PHONE_MEMO) and time.monotonic() < deadline:
            ahead(0)  # the replay has not started: take whatever the worker sent
            time.sleep(0.01)
        assert len(normalization._PHONE_MEMO), "nothing arrived from the worker"
        yield ahead
    assert not ahead._process.is_alive(), "the worker outlived its replay"


def test_the_workers_results_arrive_and_the_report_is_the_same(store: str) -> None:
    app = Leadkey(store)
    alone = app.replay("w")
    assert alone.exact and sum(alone.decisions.values()) == 3000
    with worker_ahead(app) as ahead:
        with_worker = replay(app._log, "w", progress=ahead)
    assert with_worker == alone


def test_a_tampered_store_gives_the_same_divergences_with_a_worker(
    store: str, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(store.removeprefix("sqlite:///"), copy)
    with sqlite3.connect(copy) as db:  # one created lead's key, altered by hand
        rowid, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%LeadCreated' "
            "ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state.replace(b'"key":"', b'"key":"x'), rowid),
        )
    app = Leadkey(f"sqlite:///{copy}")
    alone = app.replay("w")
    assert [d.position for d in alone.divergences] == [rowid]
    with worker_ahead(app) as ahead:
        assert replay(app._log, "w", progress=ahead) == alone
    middle = rowid - 10
    with worker_ahead(app, until=middle) as ahead:
        assert replay(app._log, "w", until=middle, progress=ahead) == app.replay("w", until=middle)


def test_a_dead_worker_changes_nothing(store: str) -> None:
    app = Leadkey(store)
    normalization.forget()
    with NormalizingAhead(app, "w") as ahead:
        ahead._process.kill()
        ahead._process.join()
        assert replay(app._log, "w", progress=ahead) == app.replay("w")


@pytest.mark.parametrize("url", ["memory:", "sqlite:///:memory:"])
def test_a_worker_needs_a_store_it_can_read_too(url: str) -> None:
    with pytest.raises(StoreError, match="SQLite file or PostgreSQL"):
        NormalizingAhead(Leadkey(url), "w")
    with pytest.raises(ValueError, match="0 or 1"):
        replay_with_workers(Leadkey(url), "w", workers=2)


def test_cli_replay_with_a_worker_prints_the_same_and_nothing_else(store: str) -> None:
    args = ["--store", store, "replay", "--workspace", "w", "--verify", "--json"]
    alone, ahead = run_process(*args), run_process(*args, "--workers", "1")
    assert alone.returncode == ahead.returncode == 0
    assert ahead.stdout == alone.stdout and json.loads(ahead.stdout)["verified"] is True
    assert ahead.stderr == "", "the worker printed something"


def test_the_worker_follows_every_configuration_event_the_index_does() -> None:
    handlers = IdentifierIndexProjection._handlers
    handled = {cls for cls in handlers if cls.__qualname__.startswith("Workspace.")}
    assert handled == set(WORKSPACE_EVENTS)


# -- the memos -------------------------------------------------------------------


def outcome(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except UnusableValue as error:
        return ("unusable", error.reason, error.empty)


@st.composite
def raw_values(draw: st.DrawFn) -> tuple[str, Any, str]:
    """A raw phone or email value (often valid, in some spelling) and a region."""
    region = draw(st.sampled_from(["IN", "US", "GB", "DE", "BR"]))
    kind = draw(st.sampled_from(["phone", "email"]))
    if kind == "phone":
        raw = draw(
            st.one_of(
                valid_phone_numbers(region).map(lambda drawn: drawn[1].removeprefix("+")),
                valid_phone_numbers(region).map(lambda drawn: drawn[1]),
                st.text(max_size=20),
                st.integers(),
            )
        )
    else:
        raw = draw(st.one_of(emails().flatmap(email_variants), st.text(max_size=20)))
    return kind, raw, region


def normalize(kind: str, raw: Any, region: str) -> Any:
    if kind == "phone":
        return outcome(lambda: phone_key(raw, region))
    return outcome(lambda: email_key(raw))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(raw_values(), max_size=20))
def test_primed_results_are_what_this_process_would_compute(
    values: list[tuple[str, Any, str]],
) -> None:
    try:
        normalization.forget()
        normalization.keep_journal()  # as the worker does
        computed = [normalize(*value) for value in values]
        journal = pickle.loads(pickle.dumps(normalization.take_journal()))  # sent by pipe
        normalization.forget()
        normalization.prime(journal)  # as the replay does with what the worker sent
        assert [normalize(*value) for value in values] == computed
        assert normalization.take_journal() == {}, "a primed value was computed again"
    finally:
        normalization.keep_journal(False)
        normalization.forget()


def test_a_memo_forgets_its_oldest_quarter_when_full() -> None:
    memo: Memo[int, int] = Memo(8)
    for n in range(8):
        memo.put(n, n * n)
    assert len(memo) == 8 and memo.get(0) == 0
    memo.put(8, 64)
    assert len(memo) == 7
    assert [memo.get(n) for n in (0, 1, 2, 3, 8)] == [None, None, 4, 9, 64]


def test_a_memo_journals_what_it_computes_not_what_it_is_primed_with() -> None:
    memo: Memo[str, int] = Memo(100)
    memo.journal = []
    memo.put("a", 1)
    memo.prime([("b", 2), ("c", 3)])
    assert memo.journal == [("a", 1)]
    assert (memo.get("b"), memo.get("c")) == (2, 3)


@settings(max_examples=200, deadline=None)
@given(
    payload=st.one_of(
        st.text(max_size=60),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["fields", "phone", "email", "x"]), inner)
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_normalizing_ahead_never_raises(payload: str) -> None:
    config = MatchConfig(
        workspace_id("w"),
        "w",
        {"phone": FieldType.PHONE, "email": FieldType.EMAIL, "x": FieldType.TEXT},
        "phone",
        "IN",
        "UTC",
        0,
    )
    normalize_ahead(config, payload)
    normalize_ahead(None, payload)


# -- the garbage collector while the log is read --------------------------------------


def test_bulk_reads_collect_less_and_restore_the_threshold() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= BULK_GC_THRESHOLD
        with fewer_collections():
            pass
        assert gc.get_threshold()[0] >= BULK_GC_THRESHOLD  # still reading: still raised
    assert gc.get_threshold() == before


def test_concurrent_bulk_reads_restore_the_threshold_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Barrier(3), threading.Event()

    def reader() -> None:
        with fewer_collections():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert gc.get_threshold()[0] >= BULK_GC_THRESHOLD
    leave.set()
    for thread in threads:
        thread.join()
    assert gc.get_threshold() == before
