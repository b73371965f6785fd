"""Benchmark: several writer processes on one store, into one workspace or several.

Run:  python bench/writers.py [--payloads 20000] [--writers 4] [--postgres URL]

Each configuration starts on a new store (a SQLite file; with --postgres, a new schema
too) and prints the payloads/s of all writers together and how many batches were decided
again because another writer recorded in the workspace first:
- one writer with every payload (the reference);
- N writers into one workspace (serialized by its decision sequence, by design);
- N writers, each into its own workspace (they share only the store's write lock).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid

CODE = """
import json, sys
from leadkey.adapters.application import Leadkey
store, workspace, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
app = Leadkey(store)
lines = (json.dumps({"fields": {"phone": f"9{n % 40000:09d}", "name": str(n)}})
         for n in range(start, start + count))
for _ in app.ingest_many(workspace, lines, batch_size=100):
    pass
print(app.redecided)
"""


def run(store: str, workspaces: list[str], per_writer: int) -> tuple[float, int]:
    from leadkey.adapters.application import Leadkey

    with Leadkey(store) as app:
        for name in set(workspaces):
            app.create_workspace(name)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CODE, store, name, str(k * 7919), str(per_writer)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k, name in enumerate(workspaces)
    ]
    redecided = sum(int(p.communicate()[0]) for p in processes)
    elapsed = time.perf_counter() - started
    return per_writer * len(workspaces) / elapsed, redecided


def measure(label: str, new_store, payloads: int, writers: int) -> None:
    one, _ = run(new_store(), ["w"], payloads)
    print(f"{label}: 1 writer, {payloads:,} payloads: {one:,.0f} payloads/s")
    for what, names in (
        ("one workspace", ["w"] * writers),
        ("a workspace each", [f"w{k}" for k in range(writers)]),
    ):
        rate, redecided = run(new_store(), names, payloads // writers)
        print(
            f"{label}: {writers} writers, {what}: {rate:,.0f} payloads/s "
            f"({rate / one:.2f}x one writer), {redecided} of "
            f"{payloads // 100} batches decided again"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--postgres", help="a PostgreSQL URL: measure there too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = iter(range(1000))
        measure(
            "SQLite",
            lambda: f"sqlite:///{folder}/{next(files)}.db",
            args.payloads,
            args.writers,
        )
    if args.postgres:
        import psycopg

        schemas: list[str] = []

        def new_schema() -> str:
            schema = f"leadkey_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            schemas.append(schema)
            return f"{args.postgres}?schema={schema}"

        try:
            measure("PostgreSQL", new_schema, args.payloads, args.writers)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                for schema in schemas:
                    connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
