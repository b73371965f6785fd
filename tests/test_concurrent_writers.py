"""Several processes on one store: they all start on a new store, and writers of one
workspace, with a switch of identifier among them, keep one lead per key per
generation and one decision per payload (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from leadkey.adapters.application import Leadkey
from leadkey.domain.lead import DECISION_EVENTS, Lead
from leadkey.projections.identifier_index import read_log

LEADKEY = [sys.executable, "-m", "leadkey.adapters.cli"]


def start(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LEADKEY, "--store", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_writers_started_together_on_a_new_store_all_start(
    durable_url: str, tmp_path: Path
) -> None:
    lines = tmp_path / "leads.jsonl"
    lines.write_text(
        "".join(json.dumps({"fields": {"phone": f"98765{n:05d}"}}) + "\n" for n in range(20))
    )
    # (--again: each writer records the file, as writers of four inputs would)
    writers = [start(durable_url, "ingest", str(lines), "--again") for _ in range(4)]
    for writer in writers:
        finish(writer)
    with Leadkey(durable_url) as app:
        events = [e for e, _ in read_log(app._log)]
    assert sum(isinstance(e, DECISION_EVENTS) for e in events) == 4 * 20
    assert sum(isinstance(e, Lead.LeadCreated) for e in events) == 20


def test_writers_and_a_switch_keep_one_lead_per_key_and_a_decision_per_payload(
    durable_url: str, tmp_path: Path
) -> None:
    with Leadkey(durable_url) as app:
        app.create_workspace("w")
    files = []
    for writer in range(4):
        path = tmp_path / f"w{writer}.jsonl"
        rows = []
        for n in range(150):
            lead = (n * 7 + writer * 13) % 60  # the writers overlap on 60 leads
            fields = {"phone": f"98765{lead:05d}", "name": f"{writer}/{n}"}
            if lead % 3:
                fields["email"] = f"lead{lead % 40}@example.com"  # some leads share one
            rows.append(json.dumps({"fields": fields}) + "\n")
        path.write_text("".join(rows))
        files.append(path)
    writers = [start(durable_url, "ingest", "-w", "w", "--batch-size", "10", str(f)) for f in files]
    switch = start(durable_url, "identifier", "set", "email", "-w", "w")
    for process in [*writers, switch]:
        finish(process)
    with Leadkey(durable_url) as app:
        events = [e for e, _ in read_log(app._log)]
        assert app.workspace_info("w").config.identifier == "email"
        assert app.stored_index_differences("w") == (app._log.recorder.max_notification_id(), [])
    assert sum(isinstance(e, DECISION_EVENTS) for e in events) == 4 * 150
    created = Counter((e.generation, e.key) for e in events if isinstance(e, Lead.LeadCreated))
    assert set(created.values()) == {1}
    replay = subprocess.run(
        [*LEADKEY, "--store", durable_url, "replay", "--verify", "-w", "w"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "The stored index equals a rebuild from the log" in replay.stdout
