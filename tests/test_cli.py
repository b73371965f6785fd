"""The ``leadkey`` console command, through click's CliRunner (and one real process)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from leadkey.adapters import cli
from leadkey.adapters.application import Leadkey
from leadkey.adapters.cli import main
from leadkey.projections.what_if import Switch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "payloads.jsonl"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def run(store: str, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(
        main, ["--store", store, *args], input=input, env={"LEADKEY_STORE": None}
    )


def ok(store: str, *args: str, input: str | bytes | None = None) -> Result:
    result = run(store, *args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def json_lines(result: Result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_one_error_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def example_lines() -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line of the example file."""
    text = EXAMPLES.read_text(encoding="utf-8").splitlines()
    return [(n, line) for n, line in enumerate(text, start=1) if line.strip()]


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- ingest -----------------------------------------------------------------------


def test_ingest_examples_json_reports_every_line_in_order(store: str) -> None:
    result = ok(store, "ingest", str(EXAMPLES), "--json")
    decisions = json_lines(result)
    lines = example_lines()

    assert [d["line"] for d in decisions] == [n for n, _ in lines]
    for decision in decisions:
        assert set(decision) == {
            "line", "decision", "lead_id", "key", "reason",
            "message", "applied", "rejected", "ignored", "position", "recorded_at",
            "repeated",
        }  # fmt: skip
    outcomes = {d["decision"] for d in decisions}
    assert outcomes == {"created", "updated", "dropped"}

    # Spellings of one number all reach one lead.
    first = decisions[0]
    assert first["decision"] == "created"
    assert first["key"] == "+919999999999"
    same = [d for d in decisions if d["key"] == "+919999999999"]
    assert len(same) >= 5
    assert {d["lead_id"] for d in same} == {first["lead_id"]}
    assert all(d["decision"] == "updated" for d in same[1:])

    # The malformed JSON line is dropped with its reason, and the run goes on.
    malformed = [n for n, text in lines if not is_json(text)]
    assert len(malformed) == 1
    by_line = {d["line"]: d for d in decisions}
    dropped = by_line[malformed[0]]
    assert dropped["decision"] == "dropped"
    assert dropped["reason"] == "payload_malformed"
    assert dropped["message"].startswith("not valid JSON")
    assert dropped["lead_id"] is None
    assert any(d["decision"] != "dropped" for d in decisions if d["line"] > malformed[0])

    reasons = {d["reason"] for d in decisions if d["decision"] == "dropped"}
    assert {"identifier_missing", "identifier_unusable", "identifier_empty"} <= reasons
    # Fields the default workspace does not define are ignored, visibly.
    assert any("rating" in d["ignored"] for d in decisions)


def test_ingest_summary(store: str) -> None:
    result = ok(store, "ingest", str(EXAMPLES))
    decisions = json_lines(ok(f"{store}.2", "ingest", str(EXAMPLES), "--json"))
    counts = {o: sum(d["decision"] == o for d in decisions) for o in ("created", "updated")}
    out = result.stdout

    assert f"Ingested {len(decisions)} payloads" in out
    assert f"created  {counts['created']:>2}" in out
    assert f"updated  {counts['updated']:>2}" in out
    assert "dropped" in out
    assert "payload_malformed" in out
    assert "identifier_missing" in out
    assert "Ignored, not fields of 'default'" in out
    assert "durably recorded" in out
    # stderr is not a terminal here: no progress, only the first-use notice.
    assert "\r" not in result.stderr
    assert result.stderr.splitlines() == [
        "leadkey: created workspace 'default' (country IN, identifier phone)"
    ]


def test_ingest_reads_stdin_by_default_and_skips_blank_lines(store: str) -> None:
    payloads = (
        '{"fields": {"phone": "+919999999999", "name": "Asha"}}\n'
        "\n"
        "   \n"
        '{"fields": {"phone": "09999999999", "email": "asha@example.com"}}\r\n'
    )
    decisions = json_lines(ok(store, "ingest", "--json", input=payloads))
    assert [(d["line"], d["decision"]) for d in decisions] == [(1, "created"), (4, "updated")]
    assert decisions[1]["applied"] == {"email": "asha@example.com"}


def test_ingest_drops_a_line_that_is_not_utf8_and_goes_on(store: str) -> None:
    payloads = (
        b'{"fields": {"phone": "+919999999999", "name": "Ren\xe9"}}\n'
        b'{"fields": {"phone": "+919999999999", "name": "Ren\xc3\xa9"}}\n'
    )
    decisions = json_lines(ok(store, "ingest", "--json", input=payloads))
    assert [d["decision"] for d in decisions] == ["dropped", "created"]
    assert decisions[0]["reason"] == "payload_malformed"
    assert decisions[1]["applied"]["name"] == "René"


def test_default_workspace_is_created_on_first_ingest_only(store: str) -> None:
    assert_one_error_line(run(store, "workspace", "show"), "no store at", "yet")
    decisions = json_lines(ok(store, "ingest", str(EXAMPLES), "--json"))

    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    assert shown["workspace"] == "default"
    assert shown["country"] == "IN"
    assert shown["identifier"] == "phone"
    assert shown["generation"] == 0
    assert shown["fields"] == {"name": "text", "phone": "phone", "email": "email"}
    assert shown["leads"] == sum(d["decision"] == "created" for d in decisions)

    human = ok(store, "workspace", "show").stdout
    assert "identifier  phone (phone)" in human
    assert f"leads       {shown['leads']} " in human
    # A second run does not create it again.
    assert ok(store, "ingest", str(EXAMPLES)).stderr == ""


def test_default_store_is_leadkey_db_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(EXAMPLES)], env={"LEADKEY_STORE": None})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "leadkey.db").is_file()
    assert "sqlite:///leadkey.db" in result.stdout


def test_store_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = CliRunner().invoke(main, ["ingest", str(EXAMPLES)], env={"LEADKEY_STORE": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").is_file()


def test_unknown_workspace_is_an_error_and_records_nothing(store: str) -> None:
    result = run(store, "ingest", str(EXAMPLES), "--workspace", "acme")
    assert_one_error_line(result, "unknown workspace 'acme'")
    assert result.stdout == ""
    assert_one_error_line(run(store, "workspace", "show", "-w", "acme"), "'acme'")
    assert_one_error_line(run(store, "lookup", "9999999999", "-w", "acme"), "'acme'")


def test_unreadable_file_is_an_error(store: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    assert_one_error_line(run(store, "ingest", str(missing)), "cannot read", "missing.jsonl")
    assert_one_error_line(run(store, "ingest", str(tmp_path)), "cannot read")


def test_usage_errors_exit_2(store: str) -> None:
    assert run(store, "ingest", "--batch-size", "0").exit_code == 2
    assert run(store, "no-such-command").exit_code == 2
    assert run(store, "lookup").exit_code == 2


def test_bad_store_is_an_error(tmp_path: Path) -> None:
    assert_one_error_line(run("bogus:", "workspace", "show"), "unknown store")
    assert_one_error_line(
        run(f"sqlite:///{tmp_path / 'no' / 'x.db'}", "workspace", "show"), "does not exist"
    )
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("this is not a database\n" * 100)
    assert_one_error_line(run(f"sqlite:///{not_a_db}", "workspace", "show"), "store")


def test_restart_gives_the_same_decisions_as_one_run(tmp_path: Path) -> None:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[:half]), encoding="utf-8")
    second.write_text("".join(lines[half:]), encoding="utf-8")

    single = f"sqlite:///{tmp_path / 'single.db'}"
    split = f"sqlite:///{tmp_path / 'split.db'}"
    one_run = json_lines(ok(single, "ingest", str(EXAMPLES), "--json"))
    two_runs = json_lines(ok(split, "ingest", str(first), "--json", "--batch-size", "3"))
    two_runs += json_lines(ok(split, "ingest", str(second), "--json", "--batch-size", "7"))

    def without_line(decisions: list[dict]) -> list[dict]:
        where = {"line", "position", "recorded_at"}  # (two stores: other positions and times)
        return [{k: v for k, v in d.items() if k not in where} for d in decisions]

    assert without_line(two_runs) == without_line(one_run)
    assert sum(d["decision"] == "updated" for d in two_runs[half - 1 :]) > 0


# -- workspaces and fields ----------------------------------------------------------


def test_workspace_create_with_fields(store: str) -> None:
    result = ok(
        store, "workspace", "create", "acme",
        "--country", "US", "--identifier", "email", "--timezone", "Asia/Kolkata",
        "--field", "rating:rating", "--field", "budget:money",
    )  # fmt: skip
    assert "Created workspace 'acme'" in result.stdout
    assert "rating (rating)" in result.stdout

    shown = json.loads(ok(store, "workspace", "show", "-w", "acme", "--json").stdout)
    assert shown["identifier"] == "email"
    assert shown["country"] == "US"
    assert shown["timezone"] == "Asia/Kolkata"
    assert shown["fields"]["rating"] == "rating"
    assert shown["fields"]["budget"] == "money"
    assert shown["leads"] == 0

    created = json.loads(ok(store, "workspace", "create", "other", "--json").stdout)
    assert created["workspace"] == "other"
    assert created["identifier"] == "phone"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--field", "rating:stars"], "unknown field type 'stars'"),
        (["--field", "rating"], "bad field spec 'rating'"),
        (["--field", "a:text", "--field", "a:number"], "given twice"),
        (["--field", "9lives:text"], "invalid field API name"),
        (["--country", "XX"], "unknown default country"),
        (["--identifier", "rating", "--field", "rating:rating"], "must be a phone, email"),
        (["--timezone", "Mars/Base"], "unknown time zone"),
    ],
)
def test_workspace_create_errors(store: str, args: list[str], fragment: str) -> None:
    assert_one_error_line(run(store, "workspace", "create", "acme", *args), fragment)
    assert run(store, "workspace", "show", "-w", "acme").exit_code == 2


def test_workspace_create_twice_is_an_error(store: str) -> None:
    ok(store, "workspace", "create", "acme")
    assert_one_error_line(run(store, "workspace", "create", "acme"), "already exists")


def test_field_add_then_ingest_applies_it(store: str) -> None:
    ok(store, "workspace", "create", "acme")
    assert (
        "Added field 'rating'" in ok(store, "field", "add", "rating", "rating", "-w", "acme").stdout
    )
    assert_one_error_line(run(store, "field", "add", "rating", "text", "-w", "acme"), "exists")
    assert_one_error_line(run(store, "field", "add", "x", "stars", "-w", "acme"), "stars")
    payload = '{"fields": {"phone": "+919999999999", "rating": 4, "city": "Pune"}}\n'
    [decision] = json_lines(ok(store, "ingest", "-w", "acme", "--json", input=payload))
    assert decision["applied"]["rating"] == 4
    assert "city" in decision["ignored"]


# -- identifier and country ----------------------------------------------------------


PEOPLE = "".join(
    json.dumps({"fields": fields}) + "\n"
    for fields in [
        {"phone": "+919999999999", "email": "asha@example.com"},
        {"phone": "+919876543210", "email": "ASHA@example.com"},  # the same email key
        {"phone": "+917012345678"},  # no email: unreachable by email
    ]
)


def test_identifier_set_dry_run_changes_nothing(store: str) -> None:
    ok(store, "ingest", "--json", input=PEOPLE)
    result = ok(store, "identifier", "set", "email", "--dry-run", "--json")
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert report["identifier"] == "email"
    assert report["generation"] == 1
    assert report["leads"] == 3
    assert report["indexed"] == 1
    assert len(report["unreachable"]) == 1
    [collision] = report["collisions"]
    assert collision["key"] == "asha@example.com"
    assert len(collision["others"]) == 1

    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    assert shown["identifier"] == "phone"
    assert shown["generation"] == 0

    human = ok(store, "identifier", "set", "email", "--dry-run").stdout
    assert human.startswith("Dry run, nothing recorded.")
    assert "unreachable  1" in human
    assert "key asha@example.com: matches" in human
    assert json.loads(ok(store, "workspace", "show", "--json").stdout)["identifier"] == "phone"


def test_identifier_set_for_real(store: str) -> None:
    ok(store, "ingest", "--json", input=PEOPLE)
    report = json.loads(ok(store, "identifier", "set", "email", "--json").stdout)
    assert report["dry_run"] is False
    assert report["collisions"][0]["key"] == "asha@example.com"

    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    assert shown["identifier"] == "email"
    assert shown["generation"] == 1
    found = json.loads(ok(store, "lookup", "Asha@Example.com", "--json").stdout)
    assert found["key"] == "asha@example.com"
    assert found["lead_id"] == report["collisions"][0]["winner"]

    assert_one_error_line(run(store, "identifier", "set", "email"), "already the lead identifier")
    assert_one_error_line(run(store, "identifier", "set", "nope", "--dry-run"), "no field 'nope'")


def test_country_set(store: str) -> None:
    ok(store, "ingest", "--json", input=PEOPLE)
    report = json.loads(ok(store, "country", "set", "US", "--dry-run", "--json").stdout)
    assert report["dry_run"] is True
    assert report["identifier"] == "phone"
    assert report["generation"] == 1
    assert json.loads(ok(store, "workspace", "show", "--json").stdout)["country"] == "IN"

    assert "Recorded." in ok(store, "country", "set", "US").stdout
    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    assert (shown["country"], shown["generation"]) == ("US", 1)
    assert_one_error_line(run(store, "country", "set", "ZZ"), "unknown default country")


def test_country_set_reports_the_new_configuration(store: str) -> None:
    ok(store, "ingest", "--json", input=PEOPLE)
    report = json.loads(ok(store, "country", "set", "US", "--json").stdout)
    assert (report["generation"], report["leads"], report["indexed"]) == (1, 3, 3)


# -- lookup -------------------------------------------------------------------------


def test_lookup_found_in_any_spelling(store: str) -> None:
    decisions = json_lines(ok(store, "ingest", str(EXAMPLES), "--json"))
    lead_id = decisions[0]["lead_id"]
    for spelling in ("+919999999999", "919999999999", "9999999999", "+91 99999-99999"):
        found = json.loads(ok(store, "lookup", spelling, "--json").stdout)
        assert found["lead_id"] == lead_id
        assert found["key"] == "+919999999999"
        assert found["fields"]["phone"] == "+919999999999"
        assert "name" in found["fields"]
    human = ok(store, "lookup", "09999999999").stdout
    assert f"lead_id  {lead_id}" in human
    assert "key      +919999999999" in human


def test_lookup_not_found_exits_1(store: str) -> None:
    ok(store, "ingest", str(EXAMPLES))
    result = run(store, "lookup", "8888888888")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "no lead matches '8888888888' in workspace 'default' (key +918888888888, identifier phone)"
    )


def test_lookup_unusable_value_exits_2(store: str) -> None:
    ok(store, "ingest", str(EXAMPLES))
    assert_one_error_line(run(store, "lookup", "call me"), "cannot look up 'call me'", "letters")
    assert_one_error_line(run(store, "lookup", "12"), "cannot look up '12'")


# -- a real process -------------------------------------------------------------------


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``leadkey ARGS`` in a real process (its stderr is what a user would see)."""
    return subprocess.run(
        [sys.executable, "-c", "from leadkey.adapters.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_real_process_errors_without_traceback(tmp_path: Path) -> None:
    def leadkey(*args: str) -> subprocess.CompletedProcess[str]:
        return run_process(*args, cwd=tmp_path)

    done = leadkey("ingest", str(EXAMPLES))
    assert done.returncode == 0, done.stderr
    assert "durably recorded in sqlite:///leadkey.db" in done.stdout

    for args, fragment in [
        (["ingest", str(EXAMPLES), "-w", "acme"], "unknown workspace 'acme'"),
        (["ingest", "missing.jsonl"], "cannot read missing.jsonl"),
        (["--store", "nowhere:", "workspace", "show"], "unknown store"),
        (["workspace", "create", "b", "--field", "x:stars"], "unknown field type"),
        (["lookup", "no digits"], "cannot look up"),
    ]:
        failed = leadkey(*args)
        assert failed.returncode == 2, (args, failed.stderr)
        assert "Traceback" not in failed.stderr
        assert failed.stderr.startswith("error: ")
        assert fragment in failed.stderr
        assert len(failed.stderr.splitlines()) == 1

    usage = leadkey("ingest", "--batch-size", "nope")
    assert usage.returncode == 2
    assert "Usage: leadkey ingest" in usage.stderr


# -- the garbage collector: the command's process chooses, the library never ---------------


def test_the_leadkey_command_raises_the_collectors_first_threshold_for_its_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(gc.get_threshold()))
    saved = gc.get_threshold()
    try:
        cli.run()
    finally:
        gc.set_threshold(*saved)
    assert seen == [(cli.GC_THRESHOLD, *saved[1:])]


def test_the_library_leaves_the_collector_as_the_service_set_it(tmp_path: Path) -> None:
    saved = gc.get_threshold()
    gc.set_threshold(1234, 11, 12)
    try:
        app = Leadkey(f"sqlite:///{tmp_path / 'gc.db'}")
        app.create_workspace("w")
        payloads = [{"fields": {"phone": f"98112{n:05d}", "email": f"{n}@x"}} for n in range(50)]
        list(app.ingest_many("w", payloads, batch_size=7))
        assert app.replay("w").exact
        app.what_if("w", Switch(identifier="email"))
        app.rebuild_stored_index()
        app.close()
        assert gc.get_threshold() == (1234, 11, 12)
    finally:
        gc.set_threshold(*saved)
