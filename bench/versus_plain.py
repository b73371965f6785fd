"""Benchmark: leadkey's ingest next to a hand-written equivalent, in one run.

Run:  python bench/versus_plain.py [--payloads 100000] [--postgres URL] [--growth 1000000]

The payloads: --payloads Async API bodies over 60 % as many leads (phone identifier,
region IN, each number spelled several ways, a third with an email in varying case,
about 3 % without a usable phone), through the hand-written equivalent in ``plain.py``
and through leadkey's Python API (``ingest_many``, batches of 1000) with every
guarantee on: events, the stored index, the decision's record.

Prints payloads/s for each (the best of --runs, taken in turns), and the ratio; on
SQLite, the file's bytes per payload too.  With --gc-threshold N the garbage
collector's first threshold is N for the whole run (the ``leadkey`` command runs with
50,000; Python's default is 700).  With --growth N, the SQLite rates of both over the
first and the last 100,000 of N payloads, and their files' bytes per payload.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest_bench import SPELLINGS
from plain import CHUNK, plain_memory, plain_sql, plain_sqlite

from leadkey.adapters.application import Leadkey


def payloads(count: int, seed: int = 5) -> list[str]:
    """``count`` JSON payloads over ``0.6 * count`` leads (see the module's docstring)."""
    rng = random.Random(seed)
    numbers = [f"{rng.choice('6789')}{rng.randrange(10**8, 10**9)}" for _ in range(count * 3 // 5)]
    lines = []
    for i in range(count):
        number = numbers[i] if i < len(numbers) else rng.choice(numbers)
        fields: dict[str, Any] = {"name": f"Lead {i}"}
        if rng.random() < 0.03:
            fields["phone"] = rng.choice(("", "12345", "+91999999999", "N/A"))
        else:
            fields["phone"] = rng.choice(SPELLINGS)(number)
        if int(number) % 3 == 0:
            user = f"lead.{number[-6:]}"
            fields["email"] = rng.choice((user, user.upper(), user.title())) + "@Example.com"
        lines.append(json.dumps({"fields": fields, "actions": []}))
    rng.shuffle(lines)
    return lines


def leadkey_rate(store: str, lines: list[str]) -> float:
    """leadkey's Python API over ``lines`` into a new workspace in ``store``; payloads/s."""
    with opened(store) as app:
        started = time.perf_counter()
        for _ in app.ingest_many("bench", lines, batch_size=CHUNK):
            pass
        return len(lines) / (time.perf_counter() - started)


@contextmanager
def opened(store: str) -> Iterator[Leadkey]:
    """A ``Leadkey`` on ``store`` with the workspace ``bench`` (IN), closed afterwards."""
    app = Leadkey(store)
    try:
        app.create_workspace("bench", country="IN")
        yield app
    finally:
        app.close()


def row(label: str, runs: int, ours: Callable[[], float], theirs: Callable[[], float]) -> None:
    """The best of ``runs`` of each, run in turns."""
    rates = [(ours(), theirs()) for _ in range(runs)]
    best, plain = max(r[0] for r in rates), max(r[1] for r in rates)
    print(f"  {label:<22} leadkey {best:>8,.0f}/s   hand-written {plain:>8,.0f}/s   "
          f"ratio {best / plain:.2f}")  # fmt: skip


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema's name (dropped afterwards)."""
    import psycopg

    schema = f"leadkey_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield schema
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def in_schema(url: str, work: Callable[[str], float]) -> float:
    with postgres_schema(url) as schema:
        return work(schema)


def growth(count: int, folder: str) -> None:
    """The SQLite rates over the first and the last 100,000 of ``count`` payloads, and
    the file's bytes per payload, of leadkey and of the hand-written equivalent."""
    lines = payloads(count, seed=6)
    windows = range(0, count, 100_000)
    rates: dict[str, list[float]] = {"leadkey": [], "hand-written": []}
    with opened(f"sqlite:///{folder}/growth.db") as app:
        for start in windows:
            began = time.perf_counter()
            for _ in app.ingest_many("bench", lines[start : start + 100_000], batch_size=CHUNK):
                pass
            rates["leadkey"].append(min(100_000, count - start) / (time.perf_counter() - began))
    plain = sqlite3.connect(Path(folder) / "plain-growth.db")
    plain.execute("PRAGMA journal_mode=WAL")
    for start in windows:
        rates["hand-written"].append(plain_sql(plain, lines[start : start + 100_000], after=start))
    plain.close()
    print(f"growth on SQLite, {count:,} payloads (first and last 100,000):")
    for name, file in (("leadkey", "growth.db"), ("hand-written", "plain-growth.db")):
        first, last = rates[name][0], rates[name][-1]
        size = sum(p.stat().st_size for p in Path(folder).glob(f"{file}*"))
        print(f"  {name:<13} {first:>8,.0f}/s -> {last:>8,.0f}/s ({last / first:.2f}); "
              f"{size / count:,.0f} bytes per payload")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL: measure there too")
    parser.add_argument("--growth", type=int, help="payloads for the SQLite growth figure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gc-threshold", type=int)
    args = parser.parse_args()
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    lines = payloads(args.payloads)
    print(f"{args.payloads:,} payloads over {args.payloads * 3 // 5:,} leads; "
          f"{os.cpu_count()} CPUs; gc threshold {gc.get_threshold()[0]}")  # fmt: skip
    row("in memory", args.runs, lambda: leadkey_rate("memory:", lines), lambda: plain_memory(lines))
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = (
            (Path(folder) / f"leadkey{n}.db" for n in range(args.runs)),
            (Path(folder) / f"plain{n}.db" for n in range(args.runs)),
        )
        row(
            "SQLite (durable)",
            args.runs,
            lambda: leadkey_rate(f"sqlite:///{next(ours)}", lines),
            lambda: plain_sqlite(next(theirs), lines),
        )
        sizes = [
            sum(p.stat().st_size for p in Path(folder).glob(f"{n}0.db*"))
            for n in ("leadkey", "plain")
        ]
        print(f"  {'':<22} bytes per payload: leadkey {sizes[0] / len(lines):,.0f}, "
              f"hand-written {sizes[1] / len(lines):,.0f}")  # fmt: skip
        if args.growth:
            growth(args.growth, folder)
    if args.postgres:
        import psycopg

        url = args.postgres

        def plain(schema: str) -> float:
            with psycopg.connect(url, options=f"-c search_path={schema}") as connection:
                return plain_sql(connection, lines, placeholder="%s")

        row(
            "PostgreSQL",
            args.runs,
            lambda: in_schema(url, lambda schema: leadkey_rate(f"{url}?schema={schema}", lines)),
            lambda: in_schema(url, plain),
        )


if __name__ == "__main__":
    main()
