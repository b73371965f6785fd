"""Benchmark: threads sharing one ``Leadkey`` — half ingesting, half looking up.

Run:  python bench/threads.py [--payloads 20000] [--leads 20000] [--threads 8]
                              [--postgres URL]

On a new store holding ``--leads`` leads, each configuration runs ``--threads`` threads
on one shared ``Leadkey``: half ingest ``--payloads`` payloads between them, half look
leads up by a spelling of their number for as long as the ingest runs.  It prints the
ingest payloads/s and the lookups' count and p50 / p99 / max latency:

- ``ingest_many``, batches of 1000, one thread, no lookups (the reference);
- lookups alone, nothing ingesting (the floor for lookup latency);
- one payload per transaction (``ingest_many`` of one payload: what ``ingest`` did
  before group commit) with the lookups;
- ``ingest`` from each ingesting thread, one call at a time (group commit joins the
  threads' payloads);
- ``submit`` from each ingesting thread, up to ``--window`` payloads in flight each (as
  a service with many concurrent requests), with the lookups.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from leadkey import Decision, Leadkey

WS = "w"


def phone(n: int) -> str:
    return f"9{n:09d}"


def payload(n: int) -> str:
    return json.dumps({"fields": {"phone": phone(n), "name": f"lead {n}"}})


def new_store(args: argparse.Namespace) -> str:
    if args.postgres:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        return f"{args.postgres}?schema={schema}"
    return f"sqlite:///{tempfile.mkdtemp()}/threads.db"


def prepared(args: argparse.Namespace) -> Leadkey:
    app = Leadkey(new_store(args))
    app.create_workspace(WS, country="IN")
    for _ in app.ingest_many(WS, (payload(n) for n in range(args.leads))):
        pass
    return app


def run(
    app: Leadkey,
    args: argparse.Namespace,
    ingest: Callable[[Leadkey, list[str]], None] | None,
    lookups: str | None,
    count: int,
) -> tuple[float, list[float]]:
    """Ingest ``count`` payloads (split over half the threads; all of them: one writer
    when there are no lookups) while the other half look up; returns the ingest rate and
    the lookups' latencies in seconds."""
    writers = (args.threads // 2 if lookups else 1) if ingest else 0
    readers = args.threads - writers if lookups else 0
    texts = [payload(args.leads // 2 + n) for n in range(count)]  # half of them new leads
    shares = [texts[i::writers] for i in range(writers)]
    done = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(readers)]
    pause = readers / args.paced if args.paced and lookups == "paced" else 0.0

    def read(mine: list[float], seed: int) -> None:
        n = seed
        while not done.is_set():
            value = "+91 " + phone((n * 7919) % args.leads)
            started = time.perf_counter()
            found = app.lookup(WS, value)
            mine.append(time.perf_counter() - started)
            assert found is not None
            n += 1
            if not ingest and len(mine) >= 5000:
                return
            if pause:
                time.sleep(max(0.0, pause - (time.perf_counter() - started)))

    reading = [threading.Thread(target=read, args=(latencies[i], i * 1000)) for i in range(readers)]
    writing = [threading.Thread(target=ingest, args=(app, share)) for share in shares]
    for thread in reading:
        thread.start()
    started = time.perf_counter()
    for thread in writing:
        thread.start()
    for thread in writing or reading:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    for thread in reading:
        thread.join()
    return (count / elapsed if ingest else 0.0), [x for xs in latencies for x in xs]


def elsewhere(store: str, args: argparse.Namespace, seconds: float) -> list[float]:
    """Lookups from another process (its own interpreter) for ``seconds``."""
    code = (
        "import json, sys, time\n"
        "from leadkey import Leadkey\n"
        "app = Leadkey(sys.argv[1])\n"
        "leads, end, out, n = int(sys.argv[2]), time.time() + float(sys.argv[3]), [], 0\n"
        "while time.time() < end:\n"
        "    started = time.perf_counter()\n"
        "    assert app.lookup('w', '+91 9' + f'{(n * 7919) % leads:09d}') is not None\n"
        "    out.append(time.perf_counter() - started); n += 1\n"
        "print(json.dumps(out))\n"
    )
    command = [sys.executable, "-c", code, store, str(args.leads), str(seconds)]
    return json.loads(subprocess.run(command, check=True, capture_output=True).stdout)


def one_per_transaction(app: Leadkey, texts: list[str]) -> None:
    for text in texts:
        list(app.ingest_many(WS, [text]))


def single_calls(app: Leadkey, texts: list[str]) -> None:
    for text in texts:
        app.ingest(WS, text)


def submitting(window: int) -> Callable[[Leadkey, list[str]], None]:
    def ingest(app: Leadkey, texts: list[str]) -> None:
        flight: deque[Future[Decision]] = deque()
        for text in texts:
            flight.append(app.submit(WS, text))
            if len(flight) >= window:
                flight.popleft().result()
        for future in flight:
            future.result()

    return ingest


def batches(app: Leadkey, texts: list[str]) -> None:
    for _ in app.ingest_many(WS, texts, batch_size=1000):
        pass


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def show(name: str, rate: float, latencies: list[float], reference: float) -> None:
    line = f"{name:<44}"
    line += f"{rate:9,.0f} payloads/s ({rate / reference:4.2f}x)" if rate else " " * 33
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        line += (
            f"  lookups {len(ordered):7,}  p50 {ms(statistics.median(ordered))}"
            f"  p99 {ms(p99)}  max {ms(ordered[-1])}"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payloads", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--paced", type=float, default=1000.0, help="lookups/s, paced case")
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval (seconds) for this run"
    )
    parser.add_argument("--postgres", help="postgresql://host/db: run on a new schema there")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{store}, {args.leads:,} leads, {args.payloads:,} payloads, {args.threads} threads, "
        f"switch interval {sys.getswitchinterval() * 1000:g} ms"
    )
    few = max(1, args.payloads // 20)  # (one transaction per payload is slow)
    window = submitting(args.window)
    readers = args.threads - args.threads // 2
    print(f"closed loop: {readers} threads look up as fast as they can")
    cases: list[tuple[str, Any, Any, int]] = [
        ("ingest_many, batches of 1000, alone", batches, None, args.payloads),
        ("lookups alone", None, "closed", 0),
        ("ingest_many, batches of 1000, per thread", batches, "closed", args.payloads),
        (f"one payload per transaction (before), {few:,}", one_per_transaction, "closed", few),
        ("ingest, one call at a time per thread", single_calls, "closed", args.payloads),
        (f"submit, {args.window} in flight per thread", window, "closed", args.payloads),
    ]
    reference = 0.0
    for name, ingest, lookups, count in cases:
        app = prepared(args)
        rate, latencies = run(app, args, ingest, lookups, count)
        app.close()
        reference = reference or rate
        show(name, rate, latencies, reference)
    print(f"paced: {readers} threads look up {args.paced:,.0f} times a second in all")
    for name, ingest in (("lookups alone", None), (f"submit, {args.window} in flight", window)):
        app = prepared(args)
        rate, latencies = run(app, args, ingest, "paced", args.payloads)
        app.close()
        show(name, rate, latencies, reference)
    if args.postgres:
        return
    print("another process looks up (one thread) while this one ingests")
    app = prepared(args)
    store = f"sqlite:///{app.env['SQLITE_DBNAME']}"
    results: list[list[float]] = []
    reader = threading.Thread(target=lambda: results.append(elsewhere(store, args, 8.0)))
    reader.start()
    time.sleep(2.0)  # (its start-up)
    rate, _ = run(app, args, window, None, args.payloads)
    reader.join()
    app.close()
    show(f"submit, {args.window} in flight; lookups elsewhere", rate, results[0], reference)


if __name__ == "__main__":
    main()
