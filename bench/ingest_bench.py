"""Benchmark: ingest throughput, index rebuild time and index memory.

Run:  python bench/ingest_bench.py [--payloads 200000] [--leads 1000000]

Prints, for synthetic Async API payloads (several spellings per lead, ~3 % without
a usable identifier):
- ingest payloads/s in memory and on SQLite (batches of --batch, each one durable
  commit: a decision is yielded only after its batch is committed), without and
  with one worker process preparing batches ahead;
- identifier-switch rebuild seconds for --leads leads (in-memory candidates);
- start-up rebuild seconds of the index from an in-memory log of --leads leads;
- bytes per indexed lead: the key -> lead index alone, and the whole projection.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from uuid import UUID

from eventsourcing.persistence import Tracking

from leadkey.adapters.application import Leadkey
from leadkey.domain.decisions import Decision, Outcome
from leadkey.domain.lead import Lead
from leadkey.domain.normalization import forget
from leadkey.domain.workspace import Workspace, workspace_id
from leadkey.projections.identifier_index import IdentifierIndexProjection, IndexView, index_at

SPELLINGS = (
    lambda n: f"+91{n}",
    lambda n: f"91{n}",
    lambda n: n,
    lambda n: f"+91 {n[:5]} {n[5:]}",
    lambda n: f"0{n}",
    lambda n: f"+91-{n[:5]}-{n[5:]}",
    lambda n: f" {n[:3]} {n[3:6]} {n[6:]} ",
    lambda n: f"0091{n}",
)
UNUSABLE = ("", "12345", "+91999999999", "N/A", None)


def payloads(count: int, seed: int = 7) -> list[str]:
    """``count`` JSON payloads over ``count // 4`` leads; ~3 % without a usable phone."""
    rng = random.Random(seed)
    numbers = [f"{rng.choice('6789')}{rng.randrange(10**8, 10**9)}" for _ in range(count // 4)]
    lines = []
    for i in range(count):
        fields: dict[str, object] = {"name": f"Lead {i}"}
        if rng.random() < 0.03:
            bad = rng.choice(UNUSABLE)
            if bad is not None:
                fields["phone"] = bad
        else:
            fields["phone"] = rng.choice(SPELLINGS)(rng.choice(numbers))
            if rng.random() < 0.3:
                fields["email"] = f"user{rng.randrange(count)}@example.com"
        lines.append(json.dumps({"fields": fields, "actions": []}))
    return lines


def ingest_rate(
    store: str, lines: list[str], batch: int, workers: int
) -> tuple[float, dict[str, int]]:
    forget()
    app = Leadkey(store)
    app.create_workspace("bench")
    counts = dict.fromkeys(("created", "updated", "dropped"), 0)
    started = time.perf_counter()
    for decision in app.ingest_many("bench", lines, batch_size=batch, workers=workers):
        counts[decision.outcome] += 1
    elapsed = time.perf_counter() - started
    app.close()
    return len(lines) / elapsed, counts


def lead_events(leads: int) -> Iterator[Lead.LeadCreated]:
    """``leads`` LeadCreated events with phone and email candidate keys."""
    ws = workspace_id("bench")
    for i in range(leads):
        phone = f"+91{7000000000 + i}"
        email = f"lead{i}@example.com"
        decision = Decision(
            outcome=Outcome.CREATED,
            payload=json.dumps({"fields": {"phone": phone, "email": email}}),
            key=phone,
            applied={"phone": phone, "email": email},
            keys={"phone": phone, "email": email},
        )
        record = decision.record()
        record.update(identifier="phone", identifier_type="phone", country="IN", generation=0)
        yield Lead.created(UUID(int=i + 1), ws, **record)


def seeded_app(leads: int) -> Leadkey:
    app = Leadkey("memory:")
    app.create_workspace("bench")
    chunk: list[Lead.LeadCreated] = []
    for event in lead_events(leads):
        chunk.append(event)
        if len(chunk) == 10_000:
            app._log.events.put(chunk)
            chunk = []
    if chunk:
        app._log.events.put(chunk)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=200_000)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")

    lines = payloads(args.payloads)
    for workers in (0, 1):
        label = f"{workers} worker process" + ("" if workers == 1 else "es")
        memory_rate, counts = ingest_rate("memory:", lines, args.batch, workers)
        if workers == 0:
            print(f"payloads: {len(lines):,} -> {counts}")
        print(f"ingest, in memory, {label}: {memory_rate:,.0f} payloads/s")
        with tempfile.TemporaryDirectory() as folder:
            store = f"sqlite:///{folder}/bench.db"
            sqlite_rate, _ = ingest_rate(store, lines, args.batch, workers)
        print(
            f"ingest, SQLite, {label}: {sqlite_rate:,.0f} payloads/s "
            f"(one durable commit per {args.batch})"
        )

    app = seeded_app(args.leads)
    gc.collect()
    started = time.perf_counter()
    rebuilt = index_at(app._log)
    print(
        f"start-up rebuild from the log, {args.leads:,} leads: "
        f"{time.perf_counter() - started:.2f} s"
    )
    app.add_field("bench", "customer_id", "text")
    started = time.perf_counter()
    report = app.change_identifier("bench", "email")
    print(
        f"identifier switch rebuild, {report.leads:,} leads: "
        f"{time.perf_counter() - started:.2f} s (indexed {report.indexed:,})"
    )
    del rebuilt, app
    gc.collect()

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    projection = IdentifierIndexProjection(IndexView())
    created = Workspace.create("bench").collect_events()[0]
    projection.process_event(created, Tracking("leadkey", 1))
    for position, event in enumerate(lead_events(args.leads), start=2):
        projection.process_event(event, Tracking("leadkey", position))
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - before
    workspace = next(iter(projection.view.workspaces.values()))
    index_only = sys.getsizeof(workspace.index) + sum(
        sys.getsizeof(key) + sys.getsizeof(lead) + sys.getsizeof(lead.int)
        for key, lead in workspace.index.items()
    )
    tracemalloc.stop()
    leads = len(workspace.index)
    print(f"index memory: {index_only / leads:.0f} bytes per indexed lead (key -> lead)")
    print(
        f"projection memory: {total / leads:.0f} bytes per lead "
        "(index + versions + phone and email candidate keys)"
    )


if __name__ == "__main__":
    main()
