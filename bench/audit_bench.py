"""Benchmark: audit over a large log on the embedded (SQLite) store.

Run:  python bench/audit_bench.py [--payloads 1000000] [--store PATH]

Builds (once; reused when --store already holds it) a SQLite store of --payloads
payloads ingested under the phone identifier: about a quarter as many leads, each
spelled several ways, most with an email sent in varying case and some sharing one,
about 3 % without a usable phone.  Then it measures, each in a fresh process so that
peak memory (max RSS) is the step's own, with the garbage collector set as the
``leadkey`` command sets it for itself (``cli.GC_THRESHOLD``):

- replay + verify of every recorded decision;
- what-if: email as the identifier from the start (every payload decided again);
- explain of one lead (its whole decision history), cold start.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from ingest_bench import SPELLINGS  # the same ways of writing an Indian mobile number

WORKSPACE = "bench"


def payloads(count: int, seed: int = 11) -> Iterator[str]:
    """``count`` JSON payloads over ``count // 4`` leads (see the module docstring)."""
    rng = random.Random(seed)
    leads = max(1, count // 4)
    phones = [f"{rng.choice('6789')}{rng.randrange(10**8, 10**9)}" for _ in range(leads)]
    emails: list[str | None] = []
    for i in range(leads):
        roll = rng.random()
        if roll < 0.7:
            emails.append(f"lead{i}@example.com")
        elif roll < 0.75:  # shared with another lead: these merge under email
            emails.append(f"lead{rng.randrange(leads)}@example.com")
        else:
            emails.append(None)
    for _ in range(count):
        lead = rng.randrange(leads)
        fields: dict[str, object] = {"name": f"Lead {lead}", "rating": rng.randrange(1, 6)}
        if rng.random() < 0.03:
            fields["phone"] = rng.choice(("", "12345", "N/A"))
        else:
            fields["phone"] = rng.choice(SPELLINGS)(phones[lead])
        email = emails[lead]
        if email is not None and rng.random() < 0.6:
            fields["email"] = email.upper() if rng.random() < 0.2 else email
        yield json.dumps({"fields": fields, "actions": []})


def build(store: str, count: int) -> None:
    from leadkey.adapters.application import Leadkey

    app = Leadkey(store)
    app.create_workspace(WORKSPACE, fields={"rating": "rating"})
    started = time.perf_counter()
    done = 0
    for _ in app.ingest_many(WORKSPACE, payloads(count), batch_size=1000):
        done += 1
    print(f"built: {done:,} payloads ingested in {time.perf_counter() - started:.1f} s")
    app.close()


def step(store: str, name: str) -> None:
    """One measured step, in this (fresh) process; prints one line."""
    from leadkey.adapters.application import Leadkey
    from leadkey.adapters.cli import GC_THRESHOLD
    from leadkey.domain.lead import Lead
    from leadkey.projections.identifier_index import read_log
    from leadkey.projections.what_if import Switch

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    started = time.perf_counter()
    if name == "replay":
        report = Leadkey(store).replay(WORKSPACE)
        figure = f"{sum(report.decisions.values()):,} decisions, verified={report.verified}"
    elif name == "what-if":
        report = Leadkey(store).what_if(WORKSPACE, Switch(identifier="email"))
        summary = report.summary()
        figure = (
            f"email from the start: {summary['payloads']:,} payloads, "
            f"{summary['decisions_changed']:,} decisions changed, "
            f"{summary['merges']:,} merges, {summary['splits']:,} splits"
        )
    elif name == "explain":
        app = Leadkey(store)
        lead = next(
            e.originator_id for e, _ in read_log(app._log) if isinstance(e, Lead.LeadCreated)
        )
        started = time.perf_counter()
        history = app.explain_lead(lead)
        figure = f"{len(history)} decisions of one lead"
    else:
        raise SystemExit(f"unknown step {name!r}")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    took = f"{elapsed * 1000:.1f} ms" if elapsed < 1 else f"{elapsed:.1f} s"
    print(f"{name}: {took} ({figure}); peak memory {peak:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=1_000_000)
    parser.add_argument("--store", help="SQLite file to build or reuse")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.store or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"leadkey-audit-{args.payloads}.db"
    )
    store = f"sqlite:///{path}"
    if args.step:
        step(store, args.step)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, store {path}")
    if not os.path.exists(path):
        build(store, args.payloads)
    for name in ("replay", "what-if", "explain"):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--store",
                path,
                "--payloads",
                str(args.payloads),
                "--step",
                name,
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
