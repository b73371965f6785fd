"""Sync API lookups by identifier under load: ``POST /enterprise/{ws}/lead/search`` with
a phone number (any spelling), 32 concurrent keep-alive clients, on a store of a million
payloads, next to the HTTP floor (the same server library answering without work).

    .venv/bin/python bench/sync_lookup.py                          # builds a 1M store once
    .venv/bin/python bench/sync_lookup.py --payloads 100000 --seconds 5

The store is built with ``ingest_many`` (600,000 leads, the rest updates) into a SQLite
file kept beside this script's temporary folder unless ``--store-file`` names one to
reuse (it is built only if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from http_service import exchange, free_port, serve_floor, wait_until_up

LEADS_SHARE = 0.6


def phone(n: int) -> str:
    return f"9{n:09d}"


def build(store: str, payloads: int) -> int:
    from leadkey import Leadkey

    leads = max(1, int(payloads * LEADS_SHARE))
    with Leadkey(store) as app:
        app.create_workspace("bench")
        stream = (
            {
                "fields": {
                    "phone": phone(n if n < leads else random.randrange(leads)),
                    "name": f"n{n}",
                }
            }
            for n in range(payloads)
        )
        started = time.perf_counter()
        for count, _ in enumerate(app.ingest_many("bench", stream, batch_size=1000), 1):
            if count % 100_000 == 0:
                print(f"  {count:,} payloads, {count / (time.perf_counter() - started):,.0f}/s")
    return leads


async def load(port: int, token: str, leads: int, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                number = phone(random.randrange(leads))
                spelling = random.choice([number, f"+91 {number}", f"0{number}", f"91{number}"])
                data = json.dumps({"fields": {"phone": spelling}}).encode()
                request = (
                    "POST /enterprise/bench/lead/search?limit=10 HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n"
                ).encode() + data
                started = time.perf_counter()
                if await exchange(reader, writer, request) == 200:
                    latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def report(label: str, latencies: list[float], seconds: float) -> str:
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return f"{label:<40} {len(latencies) / seconds:>8,.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"


def main() -> None:
    from leadkey import Leadkey

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--store-file", help="a SQLite file to build once and reuse")
    parser.add_argument("--workers", type=int, default=1, help="the server's worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.store_file or Path(folder) / "lookup.db")
        store = f"sqlite:///{path}"
        leads = int(args.payloads * LEADS_SHARE)
        if not path.exists():
            print(f"building a store of {args.payloads:,} payloads ({leads:,} leads)...")
            build(store, args.payloads)
        with Leadkey(store) as app:
            info, token = app.create_token("bench", "sync", f"bench-{os.getpid()}")
        try:
            run(args, folder, store, token, leads)
        finally:
            with Leadkey(store) as app:
                app.revoke_token("bench", str(info.token_id))


def run(args: argparse.Namespace, folder: str, store: str, token: str, leads: int) -> None:
    """The floor's run, then leadkey's."""
    print(
        f"{args.clients} keep-alive clients on loopback, {args.seconds:.0f} s a run, "
        f"{args.payloads:,} payloads in the store, {os.cpu_count()} cores"
    )
    port = free_port()
    floor = serve_floor(Path(folder), port, 1)
    try:
        asyncio.run(load(port, token, leads, args.clients, 1))
        latencies = asyncio.run(load(port, token, leads, args.clients, args.seconds))
    finally:
        floor.terminate()
    print(report("HTTP floor", latencies or [0.0], args.seconds))
    port = free_port()
    command = [sys.executable, "-m", "leadkey.adapters.cli", "--store", store, "serve"]
    options = ["--port", str(port), "--rate-limit", "100000000", "--workers", str(args.workers)]
    server = subprocess.Popen(
        [*command, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until_up(f"http://127.0.0.1:{port}/openapi.json", server)
    try:
        asyncio.run(load(port, token, leads, args.clients, 1))  # warm up
        latencies = asyncio.run(load(port, token, leads, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(30)
    label = f"leadkey POST /lead/search by phone, {args.workers} worker(s)"
    print(report(label, latencies, args.seconds))


if __name__ == "__main__":
    main()
