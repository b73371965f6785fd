"""Benchmark: what a process costs at start, and ingest, with the index kept in the store.

Run:  python bench/stored_index.py [--leads 1000000] [--postgres URL] [--pg-leads 200000]

Builds a SQLite store of --leads payloads (each a new lead, 30 % with an email) with
``leadkey ingest``, then prints, each next to a hand-written equivalent in the same run:
- ingest payloads/s: leadkey's whole CLI process against the hand-written equivalent
  on SQLite (``plain.py``), over the same payloads;
- fresh-process wall time and peak memory of ``leadkey --help`` (the import floor),
  ``leadkey lookup``, ``leadkey workspace show`` and an unknown workspace, and the same
  key looked up with ``sqlite3`` in the hand-written table;
- a writer's start-up: a new process opening the store and committing one payload;
- an identifier switch of the whole workspace (recorded, with its report);
- bytes on disk per payload, by table and index, against the hand-written store.
With --postgres URL, the fresh-process reads and the writer start-up on PostgreSQL too
(a store of --pg-leads payloads in a new schema, dropped at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from plain import plain_phone_key, plain_sqlite

LEADKEY = [sys.executable, "-m", "leadkey.adapters.cli"]


def payloads(count: int, seed: int = 11) -> list[str]:
    """``count`` payloads, one lead each (distinct Indian mobiles), 30 % with an email."""
    rng = random.Random(seed)
    numbers = rng.sample(range(6_000_000_000, 9_999_999_999), count)
    lines = []
    for i, number in enumerate(numbers):
        fields: dict[str, str] = {"phone": f"+91 {number}", "name": f"Lead {i}"}
        if rng.random() < 0.3:
            fields["email"] = f"lead{i}@example.com"
        lines.append(json.dumps({"fields": fields, "actions": []}))
    return lines


def timed(args: list[str], repeat: int = 3) -> tuple[float, float]:
    """Median wall seconds and peak resident MB of ``repeat`` fresh processes.

    The peak is the process's own (GNU time's %M, from a small parent process): a child
    forked from this one would count this process's memory (the payloads) as its peak.
    """
    results = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        results.append((elapsed, int(done.stderr.split()[-1]) / 1024))
    results.sort()
    return results[len(results) // 2]


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes per table and index of a SQLite file (its ``dbstat`` table), if available."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.Error:
        rows = []
    connection.close()
    return dict(rows)


def reads(store: str, phone: str, floor: float) -> None:
    for what, args in (
        ("lookup", ["lookup", phone]),
        ("workspace show", ["workspace", "show"]),
        ("unknown workspace", ["lookup", phone, "-w", "nope"]),
    ):
        seconds, peak = timed([*LEADKEY, "--store", store, *args])
        print(
            f"  leadkey {what:<22} {seconds:6.3f} s ({seconds / floor:.1f}x --help), "
            f"peak {peak:.0f} MB"
        )


def in_process(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout.split()


def writer_start(store: str) -> float:
    """A new process: open the store, record one payload; seconds."""
    return float(
        in_process(
            "import time; t = time.perf_counter()\n"
            "from leadkey.adapters.application import Leadkey\n"
            f"app = Leadkey({store!r})\n"
            "app.ingest('default', {'fields': {'phone': '+91 9000000001'}})\n"
            "print(time.perf_counter() - t)"
        )[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL: measure there too")
    parser.add_argument("--pg-leads", type=int, default=200_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.leads:,} leads")
    lines = payloads(args.leads)
    phone = json.loads(lines[len(lines) // 2])["fields"]["phone"]
    with tempfile.TemporaryDirectory() as folder:
        data, hand_db = Path(folder) / "payloads.jsonl", Path(folder) / "hand.db"
        data.write_text("\n".join(lines) + "\n")
        store = f"sqlite:///{folder}/leadkey.db"
        started = time.perf_counter()
        subprocess.run([*LEADKEY, "--store", store, "ingest", str(data)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        rate = len(lines) / (time.perf_counter() - started)
        hand_rate = plain_sqlite(hand_db, lines)
        print(
            f"ingest: leadkey {rate:,.0f} payloads/s (the CLI's whole process), "
            f"hand-written {hand_rate:,.0f} payloads/s: {rate / hand_rate:.2f}x"
        )
        floor = timed([*LEADKEY, "--help"])
        print("fresh process, SQLite:")
        print(f"  leadkey --help{'':<17} {floor[0]:6.3f} s, peak {floor[1]:.0f} MB")
        reads(store, phone, floor[0])
        code = (
            f"import sqlite3; c = sqlite3.connect({str(hand_db)!r}); "
            f"print(c.execute('SELECT * FROM leads WHERE key = ?', "
            f"[{plain_phone_key(phone, 'IN')!r}]).fetchone())"
        )
        seconds, peak = timed([sys.executable, "-c", code])
        print(f"  hand-written sqlite3 lookup    {seconds:6.3f} s, peak {peak:.0f} MB")
        print(f"writer start-up (open + first committed ingest): {writer_start(store):.2f} s")
        seconds, leads, indexed = in_process(
            "import time; from leadkey.adapters.application import Leadkey\n"
            f"app = Leadkey({store!r}); t = time.perf_counter()\n"
            "r = app.change_identifier('default', 'email')\n"
            "print(time.perf_counter() - t, r.leads, r.indexed)"
        )
        print(
            f"identifier switch to email, {int(leads):,} leads: {float(seconds):.2f} s "
            f"(indexed {int(indexed):,}, with the report of unreachable leads)"
        )
        size = os.path.getsize(f"{folder}/leadkey.db")
        hand = os.path.getsize(hand_db)
        print(
            f"bytes on disk per payload: leadkey {size / len(lines):,.0f}, "
            f"hand-written {hand / len(lines):,.0f}"
        )
        used = table_bytes(Path(f"{folder}/leadkey.db"))
        for name, size in sorted(used.items(), key=lambda item: -item[1]):
            print(f"  {name:<40} {size / len(lines):6,.0f}")
    if args.postgres:
        postgres(args.postgres, args.pg_leads, floor[0])


def postgres(url: str, count: int, floor: float) -> None:
    import psycopg

    schema = f"leadkey_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            store = f"{url}?schema={schema}"
            lines = payloads(count, seed=12)
            with tempfile.TemporaryDirectory() as folder:
                data = Path(folder) / "payloads.jsonl"
                data.write_text("\n".join(lines) + "\n")
                started = time.perf_counter()
                subprocess.run([*LEADKEY, "--store", store, "ingest", str(data)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                rate = count / (time.perf_counter() - started)
            print(f"fresh process, PostgreSQL, {count:,} leads (ingest {rate:,.0f} payloads/s):")
            reads(store, json.loads(lines[count // 2])["fields"]["phone"], floor)
            print(f"  writer start-up: {writer_start(store):.2f} s")
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
