"""Lookups as of a position, explanations, defaults and the CLI's edges: every failure is
one clear ``error: ...`` line (exit 2), never an "unexpected" one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import Result
from test_cli import assert_one_error_line, json_lines, ok, run

from leadkey.adapters.application import (
    Leadkey,
    UnknownWorkspace,
    UnusableLookup,
    WorkspaceNotCreatedYet,
)
from leadkey.domain.normalization import UnusableValue
from leadkey.domain.workspace import InvalidConfiguration, check_country, workspace_id
from leadkey.projections.audit import (
    MAX_POSITION,
    DecisionExplained,
    PositionError,
)
from leadkey.projections.identifier_index import read_log

README = Path(__file__).resolve().parent.parent / "README.md"
PHONE = "9845012346"
TWO = "".join(
    json.dumps({"fields": fields}) + "\n"
    for fields in [
        {"phone": PHONE, "email": "asha@example.com"},
        {"phone": "9845012347", "email": "ravi@example.com"},
    ]
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def no_unexpected(result: Result) -> None:
    assert "unexpected" not in result.output, result.output
    assert "Traceback" not in result.output, result.output


# -- lookup --at: the identifier in force at the position ------------------------------


def switched_store(store: str) -> int:
    """Ingest two payloads, one at a time, then switch the identifier to email; returns
    the last log position."""
    for line in TWO.splitlines(keepends=True):
        ok(store, "ingest", input=line)
    ok(store, "identifier", "set", "email")
    app = Leadkey(store, read_only=True)
    try:
        return app._log.recorder.max_notification_id()
    finally:
        app.close()


def test_lookup_at_every_position_uses_the_identifier_then_in_force(store: str) -> None:
    end = switched_store(store)
    app = Leadkey(store)
    kinds = {
        type(event).__name__: position for event, position in reversed(list(read_log(app._log)))
    }
    switch, lead_position = kinds["IdentifierChanged"], kinds["LeadCreated"]
    created = app.find("default", PHONE, at=switch - 1)
    app.close()
    assert created.lead is not None
    outcomes = []
    for position in range(1, end + 1):
        result = run(store, "lookup", PHONE, "--at", str(position))
        no_unexpected(result)
        outcomes.append(result.exit_code)
        if position < lead_position:
            assert result.exit_code == 1, (position, result.stderr)
            assert "key +919845012346, identifier phone" in result.stderr
            assert f"at position {position}" in result.stderr
        elif position < switch:
            assert result.exit_code == 0, (position, result.stderr)
            assert str(created.lead.lead_id) in result.stdout
        else:  # the identifier is email from here on: a phone number is no email
            assert_one_error_line(result, f"at position {position} as an email (email)")
    assert set(outcomes) == {0, 1, 2}
    before = run(store, "lookup", PHONE, "--at", "0")
    assert_one_error_line(before, "workspace 'default' did not exist at position 0")
    no_unexpected(before)


def test_find_returns_the_key_and_configuration_it_used(store: str) -> None:
    end = switched_store(store)
    app = Leadkey(store)
    try:
        early = app.find("default", PHONE, at=2)
        assert early.lead is None
        assert (early.key, early.config.identifier, early.position) == (
            "+919845012346",
            "phone",
            2,
        )
        assert app.lookup("default", PHONE, at=2) is None
        now = app.find("default", "Asha@Example.com")
        assert now.lead is not None and now.key == "asha@example.com"
        assert now.config.identifier == "email" and now.position is None
        with pytest.raises(UnusableLookup) as unusable:
            app.find("default", PHONE, at=end)
        assert isinstance(unusable.value, UnusableValue)
        assert unusable.value.config.identifier == "email"
        assert unusable.value.position == end
        with pytest.raises(WorkspaceNotCreatedYet) as early_error:
            app.find("default", PHONE, at=0)
        assert isinstance(early_error.value, UnknownWorkspace)
        assert early_error.value.created == 1
        with pytest.raises(UnknownWorkspace) as never:
            app.find("acme", PHONE, at=3)
        assert not isinstance(never.value, WorkspaceNotCreatedYet)
    finally:
        app.close()


def test_lookup_message_says_an_email(store: str) -> None:
    ok(store, "workspace", "create", "acme", "--identifier", "email")
    result = run(store, "lookup", "foo@", "-w", "acme")
    assert_one_error_line(result, "as an email (email)")
    ok(store, "workspace", "create", "crm", "--identifier", "phone")
    assert_one_error_line(run(store, "lookup", "call me", "-w", "crm"), "as a phone (phone)")


# -- positions: one valid range --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["lookup", "x", "--at", "999999999999999999999999"],
        ["lookup", "x", "--at", "-1"],
        ["lookup", "x", "--at", str(MAX_POSITION + 1)],
        ["explain", "--position", "99999999999999999999"],
        ["replay", "--until", "99999999999999999999"],
        ["what-if", "--identifier", "email", "--from", "99999999999999999999"],
        ["identifier", "set", "email", "--dry-run", "--what-if-from", "99999999999999999999"],
    ],
)
def test_out_of_range_positions_are_a_clear_error(store: str, args: list[str]) -> None:
    ok(store, "ingest", input=TWO)
    result = run(store, *args)
    assert_one_error_line(result, "out of range", str(MAX_POSITION))
    no_unexpected(result)


@pytest.mark.parametrize("odd", ["５", "3_0", "+3", " 5", "5 ", "", "0x5", "1e3", "٣"])
def test_positions_are_ascii_digits_only(store: str, odd: str) -> None:
    ok(store, "ingest", input=TWO)
    for args in (["lookup", PHONE, "--at", odd], ["replay", "--until", odd]):
        result = run(store, *args)
        assert_one_error_line(result, "is not a log position", str(MAX_POSITION))
        no_unexpected(result)
    assert ok(store, "lookup", PHONE, "--at", "0003").exit_code == 0  # leading zeros are fine
    long = run(store, "lookup", PHONE, "--at", "9" * 100_000)
    assert_one_error_line(long, "out of range", str(MAX_POSITION))
    assert len(long.stderr) < 300


def test_positions_end_at_max_position(store: str) -> None:
    ok(store, "ingest", input=TWO)
    found = ok(store, "lookup", PHONE, "--at", str(MAX_POSITION), "--json")
    assert json.loads(found.stdout)["key"] == "+919845012346"
    assert run(store, "explain", "--position", str(MAX_POSITION)).exit_code == 1
    past = run(store, "explain", "--position", str(MAX_POSITION + 1))
    assert_one_error_line(past, "--position: position", "out of range")


def test_the_python_api_checks_positions(app: Leadkey) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"phone": PHONE}})
    for bad in (-1, MAX_POSITION + 1, 10**30):
        with pytest.raises(PositionError):
            app.lookup("w", PHONE, at=bad)
        with pytest.raises(PositionError):
            app.explain_position(bad)
    with pytest.raises(PositionError):
        app.lookup("w", PHONE, at=True)  # type: ignore[arg-type]
    assert app.lookup("w", PHONE, at=MAX_POSITION) is not None
    assert app.explain_position(MAX_POSITION) is None


# -- explain: lead ids and positions are global ----------------------------------------


def acme_store(store: str) -> list[dict]:
    """A store with the workspace 'acme' only."""
    ok(store, "workspace", "create", "acme")
    payloads = TWO + json.dumps({"fields": {"phone": PHONE, "name": "Asha"}}) + "\n"
    return json_lines(ok(store, "ingest", "-w", "acme", "--json", input=payloads))


def test_explain_lead_needs_no_default_workspace_and_gives_positions(store: str) -> None:
    decisions = acme_store(store)
    lead = decisions[0]["lead_id"]
    result = ok(store, "explain", "--lead", lead)
    lines = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert len(lines) == 2
    assert all(line.startswith("position ") for line in lines), lines
    assert " at " not in lines[0].split(":")[0]
    app = Leadkey(store)
    try:
        expected = [
            position
            for event, position in read_log(app._log)
            if getattr(event, "originator_id", None) == UUID(lead)
        ]
    finally:
        app.close()
    assert [int(line.split()[1]) for line in lines] == expected
    as_json = json_lines(ok(store, "explain", "--lead", lead, "--json"))
    assert [item["position"] for item in as_json] == expected
    # Each position explains the same decision.
    for position in expected:
        again = json_lines(ok(store, "explain", "--position", str(position), "--json"))
        assert again[0]["lead_id"] == lead


def test_explain_position_needs_no_default_workspace(store: str) -> None:
    acme_store(store)
    result = ok(store, "explain", "--position", "3")
    assert result.stdout.startswith("position 3")


def test_explain_line_names_the_workspace_it_needs(store: str) -> None:
    acme_store(store)
    assert "position" in ok(store, "explain", "--line", "1", "-w", "acme").stdout
    result = run(store, "explain", "--line", "1")
    assert_one_error_line(result, "unknown workspace 'default'", "ingest")


def test_explain_an_id_that_is_not_a_lead(store: str) -> None:
    acme_store(store)
    for other in (str(workspace_id("acme")), "not-a-uuid", "0" * 32):
        result = run(store, "explain", "--lead", other)
        assert_one_error_line(result, "no lead")
        no_unexpected(result)


def test_explain_lead_reads_the_lead_not_the_log(durable_url: str) -> None:
    """On a store with an index of its events by aggregate (SQLite, PostgreSQL): the
    in-memory store has none, and its positions come from the log."""
    app = Leadkey(durable_url)
    try:
        app.create_workspace("w")
        first = app.ingest("w", {"fields": {"phone": PHONE, "name": "A"}})
        app.ingest("w", {"fields": {"phone": "9845012347"}})
        app.ingest("w", {"fields": {"phone": PHONE, "name": "B"}})
        explained = [app.explain_position(p) for _, p in read_log(app._log)]
        expected = [
            e for e in explained if isinstance(e, DecisionExplained) and e.lead_id == first.lead_id
        ]

        def no_log(*_: object, **__: object) -> None:
            raise AssertionError("explain_lead read the log")

        app._log.recorder.select_notifications = no_log  # type: ignore[method-assign]
        history = app.explain_lead(first.lead_id)
    finally:
        app.close()
    assert len(history) == 2
    assert [h.position for h in history] == [e.position for e in expected]
    assert [h.changes for h in history] == [e.changes for e in expected]


# -- the default workspace: created by the commands that record, named by the others ---


def log_length(store: str) -> int:
    app = Leadkey(store, read_only=True)
    try:
        return app._log.recorder.max_notification_id() or 0
    finally:
        app.close()


@pytest.mark.parametrize(
    ("args", "settings", "then"),
    [
        (["field", "add", "stars", "rating"], "country IN, identifier phone", ("stars", "rating")),
        (["identifier", "set", "email"], "country IN, identifier email", ("identifier", "email")),
        (["identifier", "set", "phone"], "country IN, identifier phone", ("identifier", "phone")),
        (["country", "set", "us"], "country US, identifier phone", ("country", "US")),
        (["country", "set", "IN"], "country IN, identifier phone", ("country", "IN")),
    ],
)
def test_commands_that_record_create_the_default_workspace_with_their_setting(
    store: str, args: list[str], settings: str, then: tuple[str, str]
) -> None:
    result = ok(store, *args)
    assert result.stderr.splitlines() == [f"leadkey: created workspace 'default' ({settings})"]
    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    name, value = then
    assert shown.get(name, shown["fields"].get(name)) == value
    assert shown["generation"] == 0  # one step: created with it, not created then changed
    if args[0] != "field":
        assert "Recorded." in result.stdout and "generation   0" in result.stdout
    # the command records once: the workspace again is an error, not a second creation
    again = run(store, *args)
    assert again.exit_code == 2 and "created workspace" not in again.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["field", "add", "x", "bogus"], "unknown field type"),
        (["field", "add", "phone", "text"], "field 'phone' already exists (type phone)"),
        (["field", "add", "phone", "phone"], "field 'phone' already exists (type phone)"),
        (["identifier", "set", "nosuchfield"], "no field 'nosuchfield'"),
        (["country", "set", "ZZ"], "unknown default country 'ZZ'"),
        (["country", "set", "ın"], "unknown default country"),  # dotless ı: no upper-casing
    ],
)
def test_a_refused_setting_does_not_create_the_default_workspace(
    store: str, args: list[str], fragment: str
) -> None:
    result = run(store, *args)
    assert_one_error_line(result, fragment)
    no_unexpected(result)
    assert result.stdout == ""
    assert log_length(store) == 0  # nothing recorded, not even the workspace
    shown = run(store, "workspace", "show").stderr  # no workspace, or not even a file
    assert "unknown workspace 'default'" in shown or "no store at" in shown


@pytest.mark.parametrize(
    "args",
    [
        ["lookup", PHONE],
        ["workspace", "show"],
        ["replay"],
        ["what-if", "--identifier", "email"],
        ["explain", "--line", "1"],
        ["explain", "--position", "1"],
        ["identifier", "set", "email", "--dry-run"],
        ["country", "set", "US", "--dry-run"],
    ],
)
def test_commands_that_only_read_say_how_the_default_workspace_is_made(
    tmp_path: Path, args: list[str]
) -> None:
    file = tmp_path / "fresh.db"
    missing = run(f"sqlite:///{file}", *args)  # a mistyped path, say
    assert_one_error_line(missing, f"no store at {file} yet", "ingest or workspace create")
    assert not file.exists()  # reading created nothing
    ok(f"sqlite:///{file}", "workspace", "create", "acme")
    if args[:2] == ["explain", "--position"]:  # positions are global: no workspace needed
        assert run(f"sqlite:///{file}", *args).exit_code in (0, 1)
        return
    result = run(f"sqlite:///{file}", *args)
    assert_one_error_line(result, "unknown workspace 'default'", "ingest", "workspace create")


def test_a_missing_store_folder_is_still_named(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}", "lookup", PHONE)
    assert_one_error_line(result, "folder", "does not exist")


# -- country codes in any case ---------------------------------------------------------


def test_country_codes_in_any_case(store: str) -> None:
    ok(store, "ingest", input=TWO)
    assert "Default country 'US'" in ok(store, "country", "set", "us").stdout
    assert json.loads(ok(store, "workspace", "show", "--json").stdout)["country"] == "US"
    assert_one_error_line(run(store, "country", "set", "Us"), "already the default country")
    ok(store, "workspace", "create", "acme", "--country", "gb")
    assert (
        json.loads(ok(store, "workspace", "show", "-w", "acme", "--json").stdout)["country"] == "GB"
    )
    what_if = json.loads(ok(store, "what-if", "--country", "in", "--json").stdout)
    assert what_if["switches"][0]["country"] == "IN"


def test_check_country_upper_cases_ascii_codes_only() -> None:
    assert check_country("us") == "US"
    assert check_country("In") == "IN"
    for bad in ("ın", "usa", "", "zz", None):  # dotless ı would upper-case to I
        with pytest.raises(InvalidConfiguration):
            check_country(bad)  # type: ignore[arg-type]
    app = Leadkey()
    try:
        assert app.create_workspace("w", country="gb").config.country == "GB"
        app.change_country("w", "de")
        assert app.workspace("w").config.country == "DE"
    finally:
        app.close()


# -- the ingest summary is capped ------------------------------------------------------


def test_summary_lists_at_most_twenty_unknown_fields(store: str) -> None:
    payloads = "".join(
        json.dumps({"fields": {"phone": PHONE, **{f"field_{n:05d}": n for n in range(k, k + 100)}}})
        + "\n"
        for k in range(0, 10_000, 100)
    )
    result = ok(store, "ingest", input=payloads)
    assert max(len(line) for line in result.stdout.splitlines()) < 1000
    ignored = next(line for line in result.stdout.splitlines() if line.startswith("Ignored"))
    assert "field_00019 (1)" in ignored and "field_00020" not in ignored
    assert "... and 9980 more (--json" in ignored


# -- names no workspace can have -------------------------------------------------------


def test_hint_only_for_names_that_can_be_created(store: str) -> None:
    ok(store, "ingest", input=TWO)
    long = run(store, "lookup", PHONE, "-w", "a" * 1000)
    assert_one_error_line(long, "unknown workspace", "1 to 128 characters")
    assert "workspace create" not in long.stderr
    assert len(long.stderr) < 300
    blank = run(store, "workspace", "show", "-w", "   ")
    assert_one_error_line(blank, "no workspace can have that name")
    longest = run(store, "lookup", PHONE, "-w", "b" * 128)
    assert_one_error_line(longest, f"create it with: leadkey workspace create {'b' * 128}")
    spaced = run(store, "lookup", PHONE, "-w", "my shop")
    assert_one_error_line(spaced, "leadkey workspace create 'my shop'")
    ok(store, "workspace", "create", "b" * 128)  # it can be: done
    ok(store, "workspace", "show", "-w", "b" * 128)


def test_hint_for_a_name_that_starts_with_a_dash_is_a_command_that_works(store: str) -> None:
    ok(store, "ingest", input=TWO)
    dashed = run(store, "lookup", "1", "--workspace", "-x")
    assert_one_error_line(dashed, "(create it with: leadkey workspace create -- -x)")
    spaced = run(store, "lookup", "1", "-w", "-my shop")
    assert_one_error_line(spaced, "leadkey workspace create -- '-my shop'")
    ok(store, "workspace", "create", "--", "-x")  # the hint, as given
    ok(store, "workspace", "show", "-w", "-x")


def test_unknown_workspace_says_whether_the_name_can_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert UnknownWorkspace("acme").invalid is None
    assert "128" in (UnknownWorkspace("x" * 129).invalid or "")
    assert UnknownWorkspace("acme", invalid="a reason").invalid == "a reason"
    checked: list[str] = []
    monkeypatch.setattr(
        "leadkey.domain.workspace.check_workspace_name", lambda name: checked.append(name)
    )
    error = UnknownWorkspace("acme")
    assert checked == []  # raising it checks nothing: the name is checked when asked
    assert error.invalid is None and checked == ["acme"]


def test_error_lines_shorten_the_values_given(store: str) -> None:
    ok(store, "ingest", input=TWO)
    ok(store, "workspace", "create", "ids", "--field", "cid:text", "--identifier", "cid")
    digits = "9" * 100_000
    unusable = run(store, "lookup", digits)
    assert_one_error_line(unusable, "cannot look up '9999", "(100,000 characters)")
    assert len(unusable.stderr) < 400
    missing = run(store, "lookup", "x" * 100_000, "-w", "ids")
    assert missing.exit_code == 1
    assert len(missing.stderr.splitlines()) == 1 and len(missing.stderr) < 400
    assert "no lead matches 'xxx" in missing.stderr and "(100,000 characters)" in missing.stderr
    bad_spec = run(store, "workspace", "create", "w", "--field", "y" * 100_000)
    assert_one_error_line(bad_spec, "bad field spec")
    assert len(bad_spec.stderr) < 400


def test_long_values_are_shown_shortened_with_their_length() -> None:
    from leadkey.adapters.cli.base import shown

    assert shown("abc") == "'abc'"
    assert shown("x" * 1000, quoted=False).endswith("... (1,000 characters)")
    assert len(shown({"k": "v" * 10_000})) <= 60


# -- replay: capped text, --exact ----------------------------------------------------


@pytest.fixture
def altered(tmp_path: Path) -> str:
    """A store whose 25 decisions, each applying 500 fields, were altered by hand."""
    url = f"sqlite:///{tmp_path / 'altered.db'}"
    app = Leadkey(url)
    try:
        app.create_workspace("default", fields={f"f{n:03d}": "text" for n in range(500)})
        for k in range(25):
            fields = {"phone": f"+9198450{k:05d}", **{f"f{n:03d}": "v" for n in range(500)}}
            app.ingest("default", {"fields": fields})
    finally:
        app.close()
    with sqlite3.connect(tmp_path / "altered.db") as db:
        rows = db.execute("SELECT rowid, state FROM stored_events").fetchall()
        for rowid, state in rows:
            if b'"f000":"v"' in state:
                altered = state.replace(b'"f000":"v"', b'"f000":"w"')
                db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (altered, rowid))
    return url


def test_replay_lists_at_most_twenty_divergences_shortened(altered: str) -> None:
    result = ok(altered, "replay")
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) < 300, max(len(line) for line in lines)
    assert sum(line.startswith("  position ") for line in lines) == 20
    assert "  ... and 5 more (--json lists all)" in lines
    assert lines[-1] == "25 decision(s) are not re-derived."
    assert len(json.loads(ok(altered, "replay", "--json").stdout)["divergences"]) == 25


def test_replay_exact_implies_verify(altered: str, store: str) -> None:
    assert run(altered, "replay", "--exact").exit_code == 1
    assert run(altered, "replay", "--verify").exit_code == 1
    ok(store, "ingest", input=TWO)
    assert run(store, "replay", "--exact").exit_code == 0
    help_text = " ".join(ok(store, "replay", "--help").stdout.split())
    assert "Like --verify, but exit 1 on any divergence, upgrades too." in help_text


# -- a PostgreSQL store without its driver ---------------------------------------------


def test_postgres_store_without_its_driver_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"  # as if the extra were not installed
        "from leadkey.adapters.cli import main; main()"
    )
    url = "postgresql://u:secret@localhost:1/db"
    for args in (["lookup", "1"], ["ingest", "-"]):
        done = subprocess.run(
            [sys.executable, "-c", code, "--store", url, *args],
            input="", capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")
        assert "PostgreSQL needs: pip install 'leadkey[postgres]'" in done.stderr
        assert "unexpected" not in done.stderr and "secret" not in done.stderr


# -- SIGTERM is taken like Ctrl-C ------------------------------------------------------


def test_an_ignored_sigterm_stays_ignored(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ignored.db'}"
    process = subprocess.Popen(
        [sys.executable, "-c", "from leadkey.adapters.cli import main; main()",
         "--store", store, "ingest", "--json", "--batch-size", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"fields": {"phone": PHONE}}) + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["decision"] == "created"
        process.send_signal(signal.SIGTERM)  # ignored, as the parent asked
        time.sleep(0.3)
        process.stdin.write(json.dumps({"fields": {"phone": "9845012347"}}) + "\n")
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["decision"] == "created"
    assert "interrupted" not in stderr


def test_sigterm_during_ingest_says_what_is_recorded(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'term.db'}"
    process = subprocess.Popen(
        [sys.executable, "-c", "from leadkey.adapters.cli import main; main()",
         "--store", store, "ingest", "--json", "--batch-size", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        for n in range(3):
            process.stdin.write(json.dumps({"fields": {"phone": f"+9198450123{n:02d}"}}) + "\n")
        process.stdin.flush()  # stdin stays open: the ingest waits for more
        first = process.stdout.readline()
        assert json.loads(first)["decision"] == "created"
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert "interrupted: the " in stderr and "are recorded" in stderr
    assert "Traceback" not in stderr


# -- commands that only read open the store read-only ----------------------------------


def _no_write_override() -> None:  # pragma: no cover - runs in the child process
    """Before the child's exec: drop the capabilities that let root ignore file modes."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl")


def leadkey_without_write(*args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """``leadkey ARGS`` in a process that file and folder modes apply to (root too)."""
    preexec: Callable[[], None] | None = None
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("root ignores file modes, and dropping that needs Linux")
        preexec = _no_write_override
    return subprocess.run(
        [sys.executable, "-c", "from leadkey.adapters.cli import main; main()", *args],
        input=input, capture_output=True, text=True, timeout=120, check=False, preexec_fn=preexec,
    )  # fmt: skip


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, str]:
    """A store file with decisions, closed (its -wal and -shm files gone), and a lead id."""
    source = tmp_path / "source" / "leads.db"
    source.parent.mkdir()
    decisions = json_lines(ok(f"sqlite:///{source}", "ingest", "--json", input=TWO))
    assert not Path(f"{source}-wal").exists()  # everything is in the file itself
    return source, decisions[0]["lead_id"]


def read_commands(lead: str) -> list[list[str]]:
    return [
        ["lookup", PHONE],
        ["lookup", PHONE, "--at", "3"],
        ["replay", "--verify"],
        ["explain", "--lead", lead],
        ["explain", "--position", "3"],
        ["workspace", "show"],
        ["what-if", "--identifier", "email"],
        ["identifier", "set", "email", "--dry-run"],
    ]


@pytest.mark.parametrize("journal", ["wal", "delete"])
@pytest.mark.parametrize("read_only_folder", [False, True])
def test_read_commands_work_on_a_read_only_store(
    tmp_path: Path, recorded: tuple[Path, str], journal: str, read_only_folder: bool
) -> None:
    source, lead = recorded
    folder = tmp_path / "ro"
    folder.mkdir()
    file = folder / "leads.db"
    shutil.copy(source, file)
    if journal != "wal":
        connection = sqlite3.connect(file)
        connection.execute(f"PRAGMA journal_mode={journal}")
        connection.close()
    before, length = file.read_bytes(), log_length(f"sqlite:///{file}")
    file.chmod(0o444)
    if read_only_folder:
        folder.chmod(0o555)
    try:
        for args in read_commands(lead):
            done = leadkey_without_write("--store", f"sqlite:///{file}", *args)
            assert done.returncode == 0, (args, done.stderr)
            assert "error" not in done.stderr
        payload = json.dumps({"fields": {"phone": "9845012399"}}) + "\n"  # a new lead
        refused = leadkey_without_write(
            "--store", f"sqlite:///{file}", "ingest", "-", input=payload
        )
        assert refused.returncode == 2, refused.stderr  # the store is read-only
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert refused.stderr.startswith("error: ") and "unexpected" not in refused.stderr
        assert refused.stdout == ""
    finally:
        folder.chmod(0o755)
        file.chmod(0o644)
    assert file.read_bytes() == before
    assert log_length(f"sqlite:///{file}") == length  # nothing recorded, in a -wal file either


def test_read_only_application_records_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    app = Leadkey(f"sqlite:///{missing}", read_only=True)
    try:
        with pytest.raises(UnknownWorkspace):
            app.lookup("default", PHONE)
    finally:
        app.close()
    assert not missing.exists()

    url = f"sqlite:///{tmp_path / 'leads.db'}"
    ok(url, "ingest", input=TWO)
    reader = Leadkey(url, read_only=True)
    try:
        assert reader.lookup("default", PHONE) is not None
        with pytest.raises(Exception, match="readonly"):
            reader.create_workspace("acme")
    finally:
        reader.close()


# -- the README's commands work for a newcomer -----------------------------------------


def test_readme_says_how_leadkey_gets_on_path_before_using_it() -> None:
    text = README.read_text(encoding="utf-8")
    setup = text.index(".venv/bin/pip install")
    activate = text.find(". .venv/bin/activate")
    assert setup < activate, "the README never says to activate the virtual environment"
    for section in ("## CLI", "### A worked example"):
        start = text.index(section)
        first_bare = text.index("leadkey ", text.index("```", start))
        assert start < text.index(". .venv/bin/activate", start) < first_bare, section
