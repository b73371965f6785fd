"""Request limits per token: a sliding window of minute buckets, shared through the store."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey import InvalidArgument
from leadkey.adapters.rate_limits import (
    BUCKET,
    LEASE_SHARE,
    MAX_LEASE,
    MemoryLimiter,
    RateLimiter,
    rate_limiter,
)

HOUR = 3600.0


def model(accepted: list[float], now: float, limit: int, window: float) -> bool:
    """Whether a request at ``now`` fits: fewer than ``limit`` accepted requests in the
    minute buckets of the window that ends with ``now``'s bucket."""
    first = int(now // BUCKET) - int(window // BUCKET) + 1
    return sum(int(t // BUCKET) >= first for t in accepted) < limit


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=60, deadline=None)
@given(
    limit=st.one_of(st.integers(1, 6), st.integers(30, 80)),  # (leases of 2 and more)
    minutes=st.integers(1, 5),
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(0, 200, allow_nan=False)), min_size=1, max_size=120
    ),
)
def test_the_limiter_counts_as_a_sliding_window(
    kind: str, limit: int, minutes: int, gaps: list[float]
) -> None:
    """One process's answers are the model's, leases or not."""
    with tempfile.TemporaryDirectory() as folder:
        store = "memory:" if kind == "memory" else f"sqlite:///{folder}/leads.db"
        limiter = rate_limiter(store, limit, minutes * BUCKET)
        try:
            _check_window(limiter, limit, minutes, gaps)
        finally:
            limiter.close()


def _check_window(limiter: RateLimiter, limit: int, minutes: int, gaps: list[float]) -> None:
    now, accepted = 1_000_000.0, []
    for gap in gaps:
        now += gap
        fits = model(accepted, now, limit, minutes * BUCKET)
        wait = limiter.take("t", now)
        assert (wait is None) == fits
        if fits:
            accepted.append(now)
        else:  # the wait it gives is enough, and not more than a bucket too long
            assert 1 <= wait <= minutes * BUCKET
            assert model(accepted, now + wait, limit, minutes * BUCKET)
            assert wait < 1 + BUCKET or not model(
                accepted, now + wait - BUCKET, limit, minutes * BUCKET
            )


def test_tokens_are_counted_apart() -> None:
    limiter = MemoryLimiter(2, HOUR)
    assert [limiter.take("a", 0.0), limiter.take("a", 1.0)] == [None, None]
    assert limiter.take("a", 2.0) is not None
    assert limiter.take("b", 2.0) is None


def test_a_limit_that_cannot_be() -> None:
    with pytest.raises(InvalidArgument):
        MemoryLimiter(0, HOUR)
    with pytest.raises(InvalidArgument):
        MemoryLimiter(5, 1.0)


def test_processes_of_one_store_share_the_counts(durable_url: str) -> None:
    """Limiters opened apart (as worker processes open them) count one limit."""
    limiters: list[RateLimiter] = [rate_limiter(durable_url, 5, HOUR) for _ in range(3)]
    try:
        now = 5_000_000.0
        answers = [limiters[n % 3].take("token", now + n) for n in range(9)]
        assert [a is None for a in answers] == [True] * 5 + [False] * 4
        assert limiters[0].take("other", now) is None
        assert limiters[2].take("token", now + HOUR) is None  # the window moved on
    finally:
        for limiter in limiters:
            limiter.close()


def test_an_hour_is_sixty_buckets_of_a_minute() -> None:
    limiter = MemoryLimiter(1, HOUR)
    assert limiter.take("t", 0.0) is None
    assert limiter.take("t", 10.0) == 3590.0  # the first minute leaves the window at 3600
    assert limiter.take("t", 3599.0) == 1.0
    assert limiter.take("t", 3600.0) is None


def test_requests_at_once_from_many_processes_count_one_limit(durable_url: str) -> None:
    limiters = [rate_limiter(durable_url, 20, HOUR) for _ in range(6)]
    answers: list[float | None] = []

    def hammer(limiter: RateLimiter) -> None:
        for _ in range(10):
            answers.append(limiter.take("token", 7_000_000.0))

    threads = [threading.Thread(target=hammer, args=(limiter,)) for limiter in limiters]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for limiter in limiters:
            limiter.close()
    assert answers.count(None) == 20
    with pytest.raises(Exception):  # noqa: B017 - closed: its connection is gone
        limiters[0].take("token", 7_000_000.0)


def test_a_token_may_make_telecrms_18000_requests_an_hour_by_default() -> None:
    limiter = rate_limiter("memory:")
    answers = [limiter.take("t", 100.0 + n / 10) for n in range(18_001)]
    assert answers[:18_000] == [None] * 18_000 and answers[18_000] is not None


def test_counts_past_the_window_are_not_kept(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'leads.db'}"
    limiter = rate_limiter(store, 5, HOUR)
    for minute in range(180):  # three hours of a request a minute
        limiter.take("t", minute * 60.0)
    limiter.close()
    with sqlite3.connect(tmp_path / "leads.db-limits") as db:
        [(rows,)] = db.execute("SELECT count(*) FROM leadkey_request_counts")
    assert rows <= 60


def _room(store: str, limit: int, now: float) -> int:
    """How many more requests a new process may make for ``token`` at ``now``."""
    limiter = rate_limiter(store, limit, HOUR)
    try:
        made = 0
        while limiter.take("token", now) is None:
            made += 1
        return made
    finally:
        limiter.close()


def test_processes_take_leases_and_never_pass_the_limit(durable_url: str) -> None:
    limit, now = 2_000, 9_000_000.0
    limiters = [rate_limiter(durable_url, limit, HOUR) for _ in range(4)]
    answers: list[float | None] = []

    def hammer(limiter: RateLimiter) -> None:
        for _ in range(700):
            answers.append(limiter.take("token", now))

    threads = [threading.Thread(target=hammer, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = answers.count(None)
    # (refused early only while other processes held leases: at most 1/16 of what was left)
    assert limit - 3 * min(MAX_LEASE, limit // LEASE_SHARE) <= made <= limit
    for limiter in limiters:  # (closing gives back what was leased and not made)
        limiter.close()
    assert _room(durable_url, limit, now) == limit - made


def test_a_lease_left_when_its_minute_ends_is_given_back(durable_url: str) -> None:
    limit, now = 1_000, 9_000_000.0 - 9_000_000.0 % BUCKET
    limiter = rate_limiter(durable_url, limit, HOUR)
    try:
        for _ in range(10):  # (leases of 1, 2, 4 and 8: 5 left)
            assert limiter.take("token", now) is None
        assert limiter.take("token", now + BUCKET) is None  # (the 5 go back first)
        assert _room(durable_url, limit, now + BUCKET) == limit - 11
    finally:
        limiter.close()
