"""The HTTP service under load: accepted Async API payloads per second, and latency, with
32 concurrent keep-alive clients on loopback, next to the HTTP floor.

The floor is the same server library (Starlette on uvicorn, same settings) answering the
same requests with 200 without doing anything: what HTTP alone costs on this machine.
Each leadkey figure is printed next to it, from the same run.

    .venv/bin/python bench/http_service.py                     # SQLite and PostgreSQL, 10 s each
    .venv/bin/python bench/http_service.py --stores sqlite --seconds 5 --clients 32

The load comes from one process of this script (asyncio, raw HTTP/1.1 over keep-alive
connections: a Python client is cheap next to the server, but it shares the machine's
two cores with it).  Each request is a new lead (or an update of one: a tenth of them
repeat an earlier phone number), with an ``Idempotency-Key``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("LEADKEY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

FLOOR_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def queued(request):
    await request.body()
    return JSONResponse({"status": "QUEUED"}, headers={"Leadkey-Receipt": "0"})

async def found(request):
    await request.body()
    return JSONResponse({"data": [], "total_count": 0, "skip": 0, "limit": 10})

app = Starlette(routes=[
    Route("/enterprise/{workspace}/autoupdatelead", queued, methods=["POST"]),
    Route("/enterprise/{workspace}/lead/search", found, methods=["POST"]),
])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"no answer from {url}")


async def load(port: int, token: str, clients: int, seconds: float) -> tuple[int, int, list[float]]:
    """Send requests from ``clients`` keep-alive connections for ``seconds``: (accepted,
    refused, latencies of the accepted in seconds)."""
    latencies: list[float] = []
    refused = 0
    stop = time.monotonic() + seconds
    counter = 0

    async def client() -> None:
        nonlocal refused, counter
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                counter += 1
                n = counter if counter % 10 else counter // 10  # a tenth repeat a number
                body = json.dumps({"fields": {"phone": f"98{n:08d}", "name": f"n{counter}"}})
                data = body.encode()
                request = (
                    "POST /enterprise/bench/autoupdatelead HTTP/1.1\r\n"
                    "Host: 127.0.0.1\r\n"
                    f"Authorization: Bearer {token}\r\n"
                    f"Idempotency-Key: {uuid.uuid4().hex}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n"
                ).encode() + data
                started = time.perf_counter()
                status = await exchange(reader, writer, request)
                elapsed = time.perf_counter() - started
                if status == 200:
                    latencies.append(elapsed)
                else:
                    refused += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies), refused, latencies


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one HTTP/1.1 request on a keep-alive connection, read its answer: the status."""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


def serve_leadkey(store: str, port: int, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    from leadkey import Leadkey

    with Leadkey(store) as app:
        app.create_workspace("bench")
        _, token = app.create_token("bench", "async", "bench")
    command = [sys.executable, "-m", "leadkey.adapters.cli", "--store", store, "serve"]
    options = ["--port", str(port), "--workers", str(workers), "--rate-limit", "100000000"]
    process = subprocess.Popen(
        [*command, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until_up(f"http://127.0.0.1:{port}/openapi.json", process)
    return process, token


def serve_floor(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    (folder / "floor_app.py").write_text(FLOOR_APP)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until_up(f"http://127.0.0.1:{port}/", process)
    return process


def measure(
    process: subprocess.Popen[bytes], port: int, token: str, args: argparse.Namespace
) -> dict[str, float]:
    try:
        asyncio.run(load(port, token, args.clients, 1.0))  # warm up
        accepted, refused, latencies = asyncio.run(load(port, token, args.clients, args.seconds))
    finally:
        process.terminate()
        process.wait(30)
    latencies.sort()
    return {
        "rate": accepted / args.seconds,
        "refused": refused,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
    }


def postgres_store() -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return f"{POSTGRES}?schema={schema}", schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def row(label: str, result: dict[str, float], floor: dict[str, float]) -> str:
    ratio = result["rate"] / floor["rate"] if floor["rate"] else float("nan")
    return (
        f"{label:<34} {result['rate']:>8,.0f}/s ({ratio:4.2f}x floor)  "
        f"p50 {result['p50']:7.2f} ms  p99 {result['p99']:7.2f} ms  refused {result['refused']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{args.clients} keep-alive clients on loopback, {args.seconds:.0f} s a run, "
        f"{args.workers} server process(es), {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        floor = measure(serve_floor(Path(folder), port, args.workers), port, "none", args)
        print(row("HTTP floor (200, nothing done)", floor, floor))
        for store_kind in args.stores:
            schema = None
            if store_kind == "sqlite":
                store = f"sqlite:///{Path(folder) / 'bench.db'}"
            else:
                store, schema = postgres_store()
            try:
                port = free_port()
                process, token = serve_leadkey(store, port, args.workers)
                result = measure(process, port, token, args)
                print(row(f"leadkey Async API, {store_kind}", result, floor))
            finally:
                if schema:
                    drop_schema(schema)


if __name__ == "__main__":
    main()
