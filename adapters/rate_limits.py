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

A process takes requests from a token's shared count ahead, in leases: one, then twice
as many each time within the same minute, up to :data:`MAX_LEASE` and at most
1/:data:`LEASE_SHARE` of what is left of the limit, so that most requests cost no
write to the shared count, and near the limit every request is counted one at a time.
A lease left unused when its minute ends (or the limiter closes) is given back.  So the
limit is never exceeded; while another process holds leased requests, a token may be
refused that many requests early (at most 1/16 of what was left).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Protocol

from leadkey.domain.errors import InvalidArgument

from .stores import sqlite_file, store_env

#: Requests a token may make per window, by default (telecrm's: 18,000 an hour).
REQUESTS_PER_HOUR = 18_000
#: The bucket size of the sliding window (seconds).
BUCKET = 60
#: The most requests a process takes from a token's shared count at a time.
MAX_LEASE = 64
#: A lease is at most this fraction of what is left of the limit.
LEASE_SHARE = 16


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

    def room(self, counts: list[tuple[int, int]]) -> int:
        """How many more requests fit in the window holding ``counts``."""
        return self.limit - sum(count for _, count in counts)

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
    "INSERT INTO leadkey_request_counts (token, bucket, count) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (token, bucket) DO UPDATE SET count = leadkey_request_counts.count + {p}"
)
_GIVE_BACK = (
    "UPDATE leadkey_request_counts SET count = count - {p} WHERE token = {p} AND bucket = {p}"
)


@dataclass(slots=True)
class _Lease:
    """Requests a process took from a token's shared count in ``bucket``: ``left`` of
    them not made yet, out of the last lease's ``size``."""

    bucket: int
    left: int
    size: int


class _SharedLimiter:
    """Counts shared through a table (see the module's text on leases); subclasses give
    the transaction, one token's at a time across processes, and the placeholder."""

    placeholder = "?"

    def __init__(self, limit: int, window: float) -> None:
        self.window = _Window(limit, window)
        self.lock = threading.Lock()
        self.leases: dict[str, _Lease] = {}

    def _transaction(self, token: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def take(self, token: str, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        bucket, first = self.window.bucket(now), self.window.first(now)
        with self.lock:
            lease = self.leases.pop(token, None)
            if lease is not None and lease.bucket == bucket and lease.left:
                lease.left -= 1
                self.leases[token] = lease
                return None
            size = lease.size * 2 if lease is not None and lease.bucket == bucket else 1
            with self._transaction(token) as db:
                if lease is not None and lease.left:
                    self._execute(db, _GIVE_BACK, [lease.left, token, lease.bucket])
                self._execute(db, _PRUNE, [token, first])
                counts = [(int(b), int(c)) for b, c in self._execute(db, _SELECT, [token, first])]
                room = self.window.room(counts)
                if room <= 0:
                    return self.window.retry_after(counts, now)
                granted = min(size, MAX_LEASE, max(1, room // LEASE_SHARE))
                self._execute(db, _COUNT, [token, bucket, granted, granted])
            self.leases[token] = _Lease(bucket, granted - 1, granted)
            return None

    def _execute(self, db: Any, statement: str, params: list[Any]) -> Any:
        return db.execute(statement.format(p=self.placeholder), params)

    def give_back(self) -> None:
        """Return the requests leased and not made to the shared counts."""
        with self.lock:
            for token, lease in self.leases.items():
                if lease.left:
                    with self._transaction(token) as db:
                        self._execute(db, _GIVE_BACK, [lease.left, token, lease.bucket])
            self.leases.clear()


class SqliteLimiter(_SharedLimiter):
    """Counts in a side file of a SQLite store, shared by the processes on this machine."""

    def __init__(self, path: str, limit: int, window: float) -> None:
        super().__init__(limit, window)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(_CREATE)

    @contextmanager
    def _transaction(self, token: str) -> Iterator[Any]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.give_back()
        self.db.close()


class PostgresLimiter(_SharedLimiter):
    """Counts in an unlogged table of a PostgreSQL store, shared by every server."""

    placeholder = "%s"

    def __init__(self, env: dict[str, str], limit: int, window: float) -> None:
        import psycopg  # only with the postgres extra

        super().__init__(limit, window)
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

    @contextmanager
    def _transaction(self, token: str) -> Iterator[Any]:
        with self.db.transaction():
            # one token's requests counted one at a time, across processes
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [token])
            yield self.db

    def close(self) -> None:
        self.give_back()
        self.db.close()


def rate_limiter(store: str, limit: int = REQUESTS_PER_HOUR, window: float = 3600.0) -> RateLimiter:
    """The limiter whose counts every process serving ``store`` shares."""
    path = sqlite_file(store)
    if path:
        return SqliteLimiter(f"{path}-limits", limit, window)
    env = store_env(store)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        return PostgresLimiter(env, limit, window)
    return MemoryLimiter(limit, window)
