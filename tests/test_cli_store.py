"""The CLI and its store: memory: refused, an ingest stopped by a store error says what
is recorded, progress on a terminal, the stored index's status and rebuild."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import OperationalError

from leadkey.adapters.cli import main
from leadkey.adapters.indexes import StoredIndex


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input, env={"LEADKEY_STORE": None})


@pytest.mark.parametrize(
    "args",
    [
        ["workspace", "create", "acme"],
        ["ingest", "-"],
        ["identifier", "set", "email"],
        ["lookup", "9999999999"],
        ["workspace", "show"],
        ["replay", "--verify"],
    ],
)
def test_the_memory_store_is_refused_with_the_reason(args: list[str]) -> None:
    result = run("--store", "memory:", *args, input="")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the memory: store lives inside one process")
    assert "Created" not in result.stdout and "recorded" not in result.stdout


def payloads(count: int) -> str:
    return "".join(json.dumps({"fields": {"phone": f"98112{n:05d}"}}) + "\n" for n in range(count))


def test_an_ingest_stopped_by_a_store_error_says_what_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"sqlite:///{tmp_path / 'x.db'}"
    put = StoredIndex.put
    calls = []

    def full_disk_on_the_third_batch(self: StoredIndex, events: Any) -> Any:
        calls.append(1)
        if len(calls) == 4:  # the workspace, then two batches of two
            raise OperationalError("database or disk is full")
        return put(self, events)

    monkeypatch.setattr(StoredIndex, "put", full_disk_on_the_third_batch)
    result = run("--store", store, "ingest", "--batch-size", "2", input=payloads(7))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[-2] == (
        "stopped: the 4 decisions reported (input lines up to 4) are recorded; "
        "the batch in progress may or may not be"
    )
    assert lines[-1] == f"error: store {store}: database or disk is full"
    monkeypatch.undo()
    shown = run("--store", store, "workspace", "show", "--json")
    assert json.loads(shown.stdout)["leads"] == 4


def test_progress_goes_to_a_terminal_and_nowhere_else(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(payloads(3000))
    store = f"sqlite:///{tmp_path / 'x.db'}"
    command = [sys.executable, "-m", "leadkey.adapters.cli", "--store", store, "ingest"]
    leader, follower = pty.openpty()
    done = subprocess.run(
        [*command, "--batch-size", "10", str(data)],
        stdout=subprocess.PIPE, stderr=follower, timeout=300, check=False,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert done.returncode == 0
    text = seen.decode()
    assert "decisions recorded (" in text and "/s: " in text and " created, " in text
    assert "Ingested 3000 payloads" in done.stdout.decode()
    piped = subprocess.run(
        [*command, "-w", "other", str(data)], capture_output=True, timeout=300, check=False
    )
    assert b"decisions recorded" not in piped.stderr


def test_index_status_and_rebuild(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("--store", store, "ingest", input=payloads(3)).exit_code == 0
    status = run("--store", store, "index", "status", "--json")
    assert json.loads(status.stdout) == {"position": 6, "log": 6, "problem": None}
    rebuilt = run("--store", store, "index", "rebuild")
    assert rebuilt.stdout == "Rebuilt the stored index from the log up to position 6.\n"
    human = run("--store", store, "index", "status")
    assert human.stdout == "position  6 (the log ends at 6)\nstate     sound\n"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "Connection refused"),
        (
            "postgresql://postgres@127.0.0.1:5432/leadkey_no_such_db",
            'database "leadkey_no_such_db"',
        ),
        ("postgresql://leadkey_no_such_role@127.0.0.1:5432/test", 'role "leadkey_no_such_role"'),
        ("postgresql://postgres@127.0.0.1:5432/test?schema=leadkey_none", "no schema"),
    ],
    ids=["port", "database", "role", "schema"],
)
def test_a_postgresql_store_that_cannot_be_used_says_why_at_once(url: str, said: str) -> None:
    if os.environ.get("LEADKEY_TEST_POSTGRES") == "off":
        pytest.skip("LEADKEY_TEST_POSTGRES=off")
    started = time.monotonic()
    result = run("--store", url, "lookup", "9999999999")
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and said in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
