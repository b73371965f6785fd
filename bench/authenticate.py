"""What ``Leadkey.authenticate`` costs per call: it reads the workspace's tokens from the
store every time (so that a revoked token fails from the next call on).

The workspace has 3 active async and 3 active sync tokens and 4 revoked ones (15 events
of its ``WorkspaceTokens``).  Prints microseconds per call, median of 5 runs of N calls,
next to ``check_workspace`` (one read of whether a workspace exists) on the same store.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from leadkey import Leadkey


def per_call(call: Callable[[], object], n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def measure(store: str, n: int) -> None:
    with Leadkey(store) as app:
        app.create_workspace("acme")
        for name in ("old1", "old2", "old3", "old4"):
            app.create_token("acme", "async", name)
            app.revoke_token("acme", name)
        secret = ""
        for kind in ("async", "sync"):
            for k in range(3):
                secret = app.create_token("acme", kind, f"{kind}{k}")[1]
        auth = per_call(lambda: app.authenticate("acme", secret, "sync"), n)
        exists = per_call(lambda: app.check_workspace("acme"), n)
        kind = store.split(":")[0]
        print(f"{kind:<10} authenticate {auth:6.0f} µs   check_workspace {exists:6.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL database")
    args = parser.parse_args()
    measure("memory:", args.calls)
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.calls)
    if args.postgres:
        measure(args.postgres, args.calls)


if __name__ == "__main__":
    main()
