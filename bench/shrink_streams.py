"""Benchmark: how long hypothesis takes to shrink a failing stream of payloads.

Run:  python bench/shrink_streams.py [--seeds 1 2 3 4 5] [--property two|three|both]

Each property ingests a ``payload_streams("phone", max_size=20)`` stream into a new
in-memory store and fails when
- ``two``: some lead got two or more payloads (the minimal stream: two payloads);
- ``three``: three leads got two or more payloads each (minimal: six payloads).
Per seed it prints the time to the first failure, then the time of the shrink phase
(with its test runs and the size of the shrunk stream) and of hypothesis's explain phase,
each found by running again from the same seed with one more phase.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import Phase, given, seed, settings

from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import WORKSPACE_FIELDS, payload_streams

PHASES = {
    "generate": [Phase.generate],
    "shrink": [Phase.generate, Phase.shrink],
    "explain": [Phase.generate, Phase.shrink, Phase.explain],
}


def leads_with_two(stream: list[Any]) -> int:
    """How many leads got two or more of the stream's payloads."""
    app = Leadkey("memory:")
    app.create_workspace("acme", fields=WORKSPACE_FIELDS)
    counts = Counter(d.lead_id for d in app.ingest_many("acme", stream) if d.lead_id)
    app.close()
    return sum(1 for count in counts.values() if count >= 2)


def run(limit: int, phases: list[Phase], at: int) -> tuple[float, int, list[Any]]:
    """Seconds, test runs and the last stream tried (the shrunk one after a shrink)."""
    runs: list[list[Any]] = []

    @seed(at)
    @settings(max_examples=1000, deadline=None, database=None, phases=phases)
    @given(stream=payload_streams("phone", max_size=20))
    def prop(stream: list[Any]) -> None:
        runs.append(stream)
        assert leads_with_two(stream) < limit

    start = time.perf_counter()
    with contextlib.suppress(AssertionError):
        prop()
    return time.perf_counter() - start, len(runs), runs[-1] if runs else []


def measure(name: str, limit: int, seeds: list[int], out: Callable[[str], None]) -> None:
    run(limit, PHASES["generate"], 0)  # warm the caches
    shrinks, explains = [], []
    for at in seeds:
        found, found_runs, _ = run(limit, PHASES["generate"], at)
        shrunk, shrunk_runs, stream = run(limit, PHASES["shrink"], at)
        explained, _, _ = run(limit, PHASES["explain"], at)
        shrinks.append(shrunk - found)
        explains.append(explained - shrunk)
        out(
            f"{name} seed {at}: failure found in {found:.1f} s ({found_runs} runs), "
            f"shrink {shrunk - found:.1f} s ({shrunk_runs - found_runs} runs) "
            f"to {len(stream)} payloads, explain {explained - shrunk:.1f} s"
        )
    out(
        f"{name}: shrink median {statistics.median(shrinks):.1f} s, max {max(shrinks):.1f} s; "
        f"explain median {statistics.median(explains):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--property", choices=["two", "three", "both"], default="both")
    args = parser.parse_args()
    for name, limit in (("two", 1), ("three", 3)):
        if args.property in (name, "both"):
            measure(name, limit, args.seeds, lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
