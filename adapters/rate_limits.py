"""Request limits per token, shared by every process that serves one store.

A token may make ``limit`` requests in any ``window`` (an hour by default); the count is
kept in one-minute buckets, so the window slides a minute at a time.  The counts live
beside the store, not in a process, so that all of a server's worker processes (and
servers on other machines, on PostgreSQL) share them:

- ``memory:``: in this process;
- SQLite: a small side file next to the store (``<store>-limits``), written without
  waiting for the disk: counts are not worth an fsync, and the store's own write lock
  stays free for decisions;
- PostgreSQL: an ``UNLOGGED`` table in the store's schema (not written to the WAL).

A refused request is not counted.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict
from itertools import accumulate
from typing import Any, Protocol

from leadkey.domain.errors import InvalidArgument

from .stores import sqlite_file, store_env

#: Requests a token may make per window, by default (telecrm's: 18,000 an hour).
REQUESTS_PER_HOUR = 18_000
#: The bucket size of the sliding window (seconds).
BUCKET = 60


class RateLimiter(Protocol):
    """Counts requests per token against one limit."""

    def take(self, token: str, now: float | None = None) -> float | None:
        """Count one request of ``token``: None if it is within the limit, else the
        seconds until one more request would be (nothing counted)."""
        ...

    def close(self) -> None: ...


class _Window:
    """The arithmetic of a sliding window of one-minute buckets."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window < BUCKET:
            raise InvalidArgument("a rate limit is 1 or more requests in a minute or more")
        self.limit = limit
        self.buckets = int(window // BUCKET)

    def bucket(self, now: float) -> int:
        return int(now // BUCKET)

    def first(self, now: float) -> int:
        """The oldest bucket still in the window at ``now``."""
        return self.bucket(now) - self.buckets + 1

    def retry_after(self, counts: list[tuple[int, int]], now: float) -> float | None:
        """None if one more request fits in the window holding ``counts`` (bucket, count,
        oldest first), else the seconds until it does."""
        excess = sum(count for _, count in counts) - self.limit + 1
        if excess <= 0:
            return None
        # the oldest buckets leave the window first: once those holding ``excess`` have
        leaving = enumerate(accumulate(count for _, count in counts))
        oldest = next(index for index, gone in leaving if gone >= excess)
        return max(1.0, (counts[oldest][0] + self.buckets) * BUCKET - now)


class MemoryLimiter:
    """Counts in this process (the ``memory:`` store)."""

    def __init__(self, limit: int, window: float) -> None:
        self.window = _Window(limit, window)
        self.counts: dict[str, dict[int, int]] = defaultdict(dict)
        self.lock = threading.Lock()

    def take(self, token: str, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        with self.lock:
            buckets = self.counts[token]
            first = self.window.first(now)
            for old in [b for b in buckets if b < first]:
                del buckets[old]
            wait = self.window.retry_after(sorted(buckets.items()), now)
            if wait is None:
                bucket = self.window.bucket(now)
                buckets[bucket] = buckets.get(bucket, 0) + 1
            return wait

    def close(self) -> None:
        pass


_CREATE = (
    "CREATE TABLE IF NOT EXISTS leadkey_request_counts ("
    "token TEXT NOT NULL, bucket BIGINT NOT NULL, count INTEGER NOT NULL, "
    "PRIMARY KEY (token, bucket))"
)
_SELECT = (
    "SELECT bucket, count FROM leadkey_request_counts WHERE token = {p} AND bucket >= {p} "
    "ORDER BY bucket"
)
_PRUNE = "DELETE FROM leadkey_request_counts WHERE token = {p} AND bucket < {p}"
_COUNT = (
    "INSERT INTO leadkey_request_counts (token, bucket, count) VALUES ({p}, {p}, 1) "
    "ON CONFLICT (token, bucket) DO UPDATE SET count = leadkey_request_counts.count + 1"
)


class SqliteLimiter:
    """Counts in a side file of a SQLite store, shared by the processes on this machine."""

    def __init__(self, path: str, limit: int, window: float) -> None:
        self.window = _Window(limit, window)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(_CREATE)

    def take(self, token: str, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        first = self.window.first(now)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                wait = _take(self.db, "?", self.window, token, first, now)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            return wait

    def close(self) -> None:
        self.db.close()


class PostgresLimiter:
    """Counts in an unlogged table of a PostgreSQL store, shared by every server."""

    def __init__(self, env: dict[str, str], limit: int, window: float) -> None:
        import psycopg  # only with the postgres extra

        self.window = _Window(limit, window)
        self.lock = threading.Lock()
        self.db = psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            options=f"-c search_path={env.get('POSTGRES_SCHEMA', 'public')}",
            autocommit=True,
        )
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext('leadkey_request_counts'))")
            self.db.execute(_CREATE.replace("CREATE TABLE", "CREATE UNLOGGED TABLE"))

    def take(self, token: str, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        first = self.window.first(now)
        with self.lock, self.db.transaction():
            # one token's requests counted one at a time, across processes
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [token])
            return _take(self.db, "%s", self.window, token, first, now)

    def close(self) -> None:
        self.db.close()


def _take(db: Any, p: str, window: _Window, token: str, first: int, now: float) -> float | None:
    db.execute(_PRUNE.format(p=p), [token, first])
    counts = [(int(b), int(c)) for b, c in db.execute(_SELECT.format(p=p), [token, first])]
    wait = window.retry_after(counts, now)
    if wait is None:
        db.execute(_COUNT.format(p=p), [token, window.bucket(now)])
    return wait


def rate_limiter(store: str, limit: int = REQUESTS_PER_HOUR, window: float = 3600.0) -> RateLimiter:
    """The limiter whose counts every process serving ``store`` shares."""
    path = sqlite_file(store)
    if path:
        return SqliteLimiter(f"{path}-limits", limit, window)
    env = store_env(store)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        return PostgresLimiter(env, limit, window)
    return MemoryLimiter(limit, window)
