"""The leads read side: ``Leadkey.leads`` and the ``leads list``, ``leads export`` and
``lead show`` commands."""

from __future__ import annotations

import csv
import json
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner, Result
from conftest import postgres_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey import Leadkey, Outcome, StoreUnavailable, UnknownWorkspace
from leadkey.adapters import application
from leadkey.adapters.cli import leads as leads_cli
from leadkey.adapters.cli import main
from leadkey.adapters.durable_index import DurableIndex
from leadkey.adapters.strategies import payload_streams, workspace_configs

WS = "acme"
FIELDS = {"customer_id": "text", "tags": "tags", "rating": "rating", "deal_size": "number"}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new store of each kind: in memory, a SQLite file, a PostgreSQL schema."""
    if request.param == "memory":
        yield "memory:"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leads.db'}"
    else:
        with postgres_schema() as postgres:
            yield postgres


def phone(n: int) -> str:
    return f"98{n:08d}"


def fill(app: Leadkey, count: int, workspace: str = WS) -> list[UUID]:
    """Create ``count`` leads in one batch; their ids in creation order."""
    payloads = [{"fields": {"phone": phone(n), "name": f"lead {n}"}} for n in range(count)]
    decisions = list(app.ingest_many(workspace, payloads))
    return [d.lead_id for d in decisions if d.lead_id is not None]


# -- Leadkey.leads ----------------------------------------------------------------------


def test_every_lead_is_listed_once_newest_first_with_its_current_fields(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "LEADS_PAGE", 3)  # (several pages, one partly full)
    with Leadkey(url) as app:
        app.create_workspace(WS, fields=FIELDS)
        app.create_workspace("other")
        created = [app.ingest(WS, {"fields": {"phone": phone(n)}}) for n in range(8)]
        app.ingest("other", {"fields": {"phone": phone(0)}})
        app.ingest(WS, {"fields": {"phone": "+91 " + phone(2), "tags": ["a", "b"], "rating": 4}})
        app.ingest(WS, {"fields": {"phone": "0" + phone(2), "customer_id": "C-2"}})
        app.ingest(WS, {"fields": {"name": "no phone: dropped"}})
        app.change_identifier(WS, "email")  # (a lead keeps the key it was created with)

        listed = list(app.leads(WS))

        assert [lead.lead_id for lead in listed] == [d.lead_id for d in reversed(created)]
        for lead, decision in zip(listed, reversed(created), strict=True):
            assert lead == app.lead(lead.lead_id)
            assert lead.key == decision.key
            assert lead.created_at == decision.recorded_at
        updated = listed[-3]
        assert updated.fields == {
            "phone": "+91" + phone(2),
            "tags": ["a", "b"],
            "rating": 4,
            "customer_id": "C-2",
        }
        assert updated.version == 3
        oldest_first = [lead.lead_id for lead in app.leads(WS, newest_first=False)]
        assert oldest_first == [lead.lead_id for lead in reversed(listed)]


def test_an_empty_workspace_lists_nothing(url: str) -> None:
    with Leadkey(url) as app:
        app.create_workspace(WS)
        assert list(app.leads(WS)) == []
        assert list(app.leads(WS, newest_first=False)) == []


def test_an_unknown_workspace_raises_when_leads_is_called_not_when_iterated(url: str) -> None:
    with Leadkey(url) as app:
        with pytest.raises(UnknownWorkspace):
            app.leads("nowhere")
        with pytest.raises(UnknownWorkspace):
            app.leads(WS, newest_first=False)


@pytest.mark.parametrize("newest_first", [True, False])
def test_leads_created_while_listing_are_left_out_and_none_is_listed_twice(
    url: str, monkeypatch: pytest.MonkeyPatch, newest_first: bool
) -> None:
    monkeypatch.setattr(application, "LEADS_PAGE", 2)
    with Leadkey(url) as app:
        app.create_workspace(WS)
        before = fill(app, 7)
        listing = app.leads(WS, newest_first=newest_first)
        listed = [next(listing).lead_id]
        for n in range(100, 105):  # between pages and within one
            app.ingest(WS, {"fields": {"phone": phone(n)}})
            listed.append(next(listing).lead_id)
        listed.extend(lead.lead_id for lead in listing)
        assert listed == (before[::-1] if newest_first else before)


def test_listing_a_closed_leadkey_is_refused(url: str) -> None:
    app = Leadkey(url)
    app.create_workspace(WS)
    fill(app, 3)
    listing = app.leads(WS)
    app.close()
    with pytest.raises(StoreUnavailable):
        next(listing)


class Counted:
    """Counts the page reads of a durable store's stored index and the leads loaded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, app: Leadkey) -> None:
        self.pages = 0
        self.loaded = 0
        execute = DurableIndex._execute
        repository = app._log.repository
        get = repository.get

        def counted_execute(index: Any, cursor: Any, statement: str, *args: Any) -> Any:
            if "ORDER BY created" in statement and "LIMIT" in statement:
                self.pages += 1
            return execute(index, cursor, statement, *args)

        def counted_get(*args: Any, **kwargs: Any) -> Any:
            self.loaded += 1
            return get(*args, **kwargs)

        monkeypatch.setattr(DurableIndex, "_execute", counted_execute)
        monkeypatch.setattr(repository, "get", counted_get)


def test_leads_reads_a_page_at_a_time_as_it_is_iterated(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "LEADS_PAGE", 10)
    with Leadkey(url) as app:
        app.create_workspace(WS)
        fill(app, 100)
        counted = Counted(monkeypatch, app)
        listing = app.leads(WS)
        assert (counted.pages, counted.loaded) == (0, 0)
        next(listing)
        assert counted.loaded == 1
        for _ in range(14):
            next(listing)
        assert counted.loaded == 15
        if url != "memory:":  # (in memory the pages come from the index, not the store)
            assert counted.pages == 2
        assert len(list(listing)) == 85
        if url != "memory:":
            assert counted.pages == 11  # (the last page is full: one more read finds none)


def peak_memory(work: Any) -> int:
    """The most memory ``work()`` held at once beyond what was held before, in bytes."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_listing_thousands_of_leads_holds_a_page_not_the_workspace(
    kind: str, tmp_path: Path
) -> None:
    """Going through 5,000 leads holds a page of ids and a lead at a time: a small
    part of what holding all of them takes (on SQLite, a tenth)."""
    url = "memory:" if kind == "memory" else f"sqlite:///{tmp_path / 'big.db'}"
    with Leadkey(url) as app:
        app.create_workspace(WS)
        fill(app, 5000)
        counted: list[int] = []
        streamed = peak_memory(lambda: counted.append(sum(1 for _ in app.leads(WS))))
        held = peak_memory(lambda: list(app.leads(WS)))
        assert counted == [5000]
        assert streamed * 5 < held, (streamed, held)


@settings(max_examples=40, deadline=None)
@given(config=workspace_configs(), data=st.data())
def test_listed_leads_are_the_workspace_leads_with_their_versions(config: Any, data: Any) -> None:
    stream = data.draw(payload_streams(config, max_size=15))
    with Leadkey("memory:") as app:
        app.create_workspace(
            WS, country=config.country, identifier=config.identifier, fields=config.fields
        )
        list(app.ingest_many(WS, stream, batch_size=data.draw(st.integers(1, 5))))
        versions = dict(app.workspace(WS).versions)
        listed = [(lead.lead_id, lead.version) for lead in app.leads(WS)]
        assert listed == list(versions.items())[::-1]
        oldest_first = [(lead.lead_id, lead.version) for lead in app.leads(WS, newest_first=False)]
        assert oldest_first == list(versions.items())


@settings(max_examples=8, deadline=None)
@given(config=workspace_configs(), data=st.data())
def test_listed_leads_on_sqlite_are_the_workspace_leads_with_their_versions(
    config: Any, data: Any
) -> None:
    stream = data.draw(payload_streams(config, max_size=15))
    with tempfile.TemporaryDirectory() as folder, Leadkey(f"sqlite:///{folder}/p.db") as app:
        app.create_workspace(
            WS, country=config.country, identifier=config.identifier, fields=config.fields
        )
        list(app.ingest_many(WS, stream, batch_size=data.draw(st.integers(1, 5))))
        versions = dict(app.workspace(WS).versions)
        listed = [(lead.lead_id, lead.version) for lead in app.leads(WS)]
        assert listed == list(versions.items())[::-1]


# -- the CLI ----------------------------------------------------------------------------


def run(store: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--store", store, *args], env={"LEADKEY_STORE": None})


def ok(store: str, *args: str) -> Result:
    result = run(store, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_one_error_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    assert result.stdout == ""


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


AWKWARD = [
    {"fields": {"phone": phone(1), "name": 'Asha, "the" first', "tags": ["x", "y, z"]}},
    {"fields": {"phone": phone(2), "name": "two\nlines", "rating": 5, "deal_size": 12.5}},
    {"fields": {"phone": phone(3), "customer_id": "ünïcödé ☎", "tags": []}},
    {"fields": {"phone": "+91" + phone(1), "rating": 3, "customer_id": "=1+1"}},
    {"fields": {"phone": phone(4)}},
]


def ingested(url: str, payloads: list[dict[str, Any]] = AWKWARD) -> list[UUID]:
    with Leadkey(url) as app:
        app.create_workspace(WS, fields=FIELDS)
        decisions = list(app.ingest_many(WS, payloads))
    return [d.lead_id for d in decisions if d.outcome is Outcome.CREATED and d.lead_id]


def test_leads_list_prints_a_table_newest_first(store: str) -> None:
    ids = ingested(store)
    lines = ok(store, "leads", "list", "-w", WS).stdout.splitlines()
    assert lines[0].split() == ["lead_id", "version", "created", "(UTC)", "key"]
    assert [line.split()[0] for line in lines[1:]] == [str(i) for i in reversed(ids)]
    assert lines[-1].split()[1] == "2" and lines[-1].endswith("+91" + phone(1))
    limited = ok(store, "leads", "list", "-w", WS, "--limit", "2").stdout.splitlines()
    assert limited == lines[:3]


def test_leads_list_json_is_a_lead_per_line(store: str) -> None:
    ingested(store)
    printed = [
        json.loads(line)
        for line in ok(store, "leads", "list", "-w", WS, "--json").stdout.splitlines()
    ]
    with Leadkey(store) as app:
        assert printed == [lead.as_dict() for lead in app.leads(WS)]
    assert len(printed) == 4


def test_leads_list_of_an_empty_and_of_an_unknown_workspace(store: str) -> None:
    with Leadkey(store) as app:
        app.create_workspace(WS)
    assert ok(store, "leads", "list", "-w", WS).stdout == f"no leads in workspace '{WS}'\n"
    assert ok(store, "leads", "list", "-w", WS, "--json").stdout == ""
    assert_one_error_line(run(store, "leads", "list", "-w", "nowhere"), "unknown workspace")


def cell_value(cell: str, current: Any) -> Any:
    """A CSV cell read back as the value it stands for, given the current value's kind."""
    if isinstance(current, str):
        return cell
    return None if cell == "" else json.loads(cell)


def test_csv_export_reads_back_as_every_lead(durable_url: str, tmp_path: Path) -> None:
    ids = ingested(durable_url)
    target = tmp_path / "leads.csv"
    result = ok(
        durable_url, "leads", "export", "-w", WS, "--format", "csv", "--output", str(target)
    )
    assert "Exported 4 leads" in result.stdout
    assert result.stderr == ""  # (no progress line: stderr is not a terminal)
    with target.open(encoding="utf-8", newline="") as file:
        header, *rows = list(csv.reader(file))
    with Leadkey(durable_url) as app:
        fields = list(app.workspace_info(WS).config.fields)
        assert header == ["lead_id", "key", "version", *fields]
        assert [row[0] for row in rows] == [str(i) for i in ids]  # oldest first
        for row in rows:
            lead = app.lead(row[0])
            assert (row[1], int(row[2])) == (lead.key, lead.version)
            read_back = {
                name: cell_value(cell, lead.fields.get(name))
                for name, cell in zip(fields, row[3:], strict=True)
            }
            assert {k: v for k, v in read_back.items() if v is not None} == lead.fields


def test_jsonl_export_to_stdout_reads_back_as_every_lead(durable_url: str) -> None:
    ids = ingested(durable_url)
    result = ok(durable_url, "leads", "export", "-w", WS)
    exported = [json.loads(line) for line in result.stdout.splitlines()]
    assert [item["lead_id"] for item in exported] == [str(i) for i in ids]
    with Leadkey(durable_url) as app:
        assert exported == [app.lead(item["lead_id"]).as_dict() for item in exported]


def test_export_shows_progress_on_a_terminal_only(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingested(store)
    monkeypatch.setattr(leads_cli, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(leads_cli, "_stderr_is_terminal", lambda: True)
    result = ok(store, "leads", "export", "-w", WS)
    assert "exported 2 of 4 leads" in result.stderr
    assert result.stderr.endswith("exported 4 of 4 leads\n")
    assert len(result.stdout.splitlines()) == 4


def test_a_failed_export_leaves_the_output_file_as_it_was(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingested(store)
    target = tmp_path / "leads.csv"
    target.write_text("before\n", encoding="utf-8")

    def failing(*_: Any) -> int:
        raise StoreUnavailable("gone")

    monkeypatch.setattr(leads_cli, "_write_csv", failing)
    result = run(store, "leads", "export", "-w", WS, "--format", "csv", "-o", str(target))
    assert_one_error_line(result, "gone")
    assert target.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_export_of_an_unknown_workspace_writes_nothing(store: str, tmp_path: Path) -> None:
    ingested(store)
    target = tmp_path / "out.jsonl"
    assert_one_error_line(run(store, "leads", "export", "-w", "nowhere", "-o", str(target)))
    assert not target.exists()


def test_lead_show_prints_the_lead_and_the_decisions_that_shaped_it(store: str) -> None:
    ids = ingested(store)
    with Leadkey(store) as app:
        history = app.explain_lead(ids[0])
        lead = app.lead(ids[0])
    shown = json.loads(ok(store, "lead", "show", str(ids[0]), "--json").stdout)
    assert shown == {**lead.as_dict(), "decisions": [d.as_dict() for d in history]}
    assert [d["position"] for d in shown["decisions"]] == [d.position for d in history]
    text = ok(store, "lead", "show", str(ids[0])).stdout
    assert f"key      {lead.key}" in text
    assert "  customer_id  =1+1" in text
    for decision in history:
        assert f"  position {decision.position}: {decision.why()}" in text


@pytest.mark.parametrize("lead_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_lead_show_of_an_unknown_id_is_a_one_line_error(store: str, lead_id: str) -> None:
    ingested(store)
    assert_one_error_line(run(store, "lead", "show", lead_id), f"no lead '{lead_id}'")
    assert_one_error_line(run(store, "lead", "show", lead_id, "--json"), "no lead")
