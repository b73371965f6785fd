"""Benchmark: index rebuild time and index memory (ingest: see versus_plain.py).

Run:  python bench/ingest_bench.py [--leads 1000000]

Prints:
- identifier-switch rebuild seconds for --leads leads (in-memory candidates);
- start-up rebuild seconds of the index from an in-memory log of --leads leads;
- bytes per indexed lead: the key -> lead index alone, and the whole projection.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Iterator
from uuid import UUID

from eventsourcing.persistence import Tracking

from leadkey.adapters.application import Leadkey
from leadkey.domain.decisions import Decision, Outcome
from leadkey.domain.lead import Lead
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
    parser.add_argument("--leads", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")

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
