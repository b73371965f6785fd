"""Request limits per token: a sliding window of minute buckets, shared through the store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey import InvalidArgument
from leadkey.adapters.rate_limits import BUCKET, MemoryLimiter, RateLimiter, rate_limiter

HOUR = 3600.0


def model(accepted: list[float], now: float, limit: int, window: float) -> bool:
    """Whether a request at ``now`` fits: fewer than ``limit`` accepted requests in the
    minute buckets of the window that ends with ``now``'s bucket."""
    first = int(now // BUCKET) - int(window // BUCKET) + 1
    return sum(int(t // BUCKET) >= first for t in accepted) < limit


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 6),
    minutes=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=40),
)
def test_the_limiter_counts_as_a_sliding_window(
    limit: int, minutes: int, gaps: list[float]
) -> None:
    limiter = MemoryLimiter(limit, minutes * BUCKET)
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
