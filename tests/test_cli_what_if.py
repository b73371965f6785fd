"""``leadkey what-if`` and ``--what-if-from``: the recorded payloads decided again under
another identifier or default country, through click's CliRunner; nothing is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import assert_one_error_line, ok, run

from leadkey.adapters import cli

ASHA_EMAIL = "asha@example.com"

#: Leads identified by phone; the comments say what identifying them by email would do.
PEOPLE = [
    {"phone": "+919999999999", "email": ASHA_EMAIL},  # Asha
    {"phone": "+919876543210", "email": "ASHA@example.com"},  # Asha again: merges into her
    {"phone": "+917012345678", "email": "ravi@example.com"},  # Ravi
    {"phone": "+917012345678", "email": "ravi.k@example.com"},  # Ravi's second email: split
    {"phone": "+918123456789", "name": "Phone Only"},  # no email: dropped, never created
    {"email": "nisha@example.com"},  # no phone: dropped, but created by email
]


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def ingest(store: str, path: Path, payloads: list[dict]) -> list[dict]:
    """Ingest ``payloads`` from the file ``path`` into the default workspace (phone, IN)."""
    path.write_text("".join(json.dumps({"fields": f}) + "\n" for f in payloads))
    result = ok(store, "ingest", str(path), "--json")
    return [json.loads(line) for line in result.stdout.splitlines()]


def log_position(store: str) -> int:
    return json.loads(ok(store, "replay", "--json").stdout)["position"]


def what_if_json(store: str, *args: str) -> dict:
    return json.loads(ok(store, "what-if", *args, "--json").stdout)


@pytest.fixture
def people(store: str, tmp_path: Path) -> tuple[Path, list[dict]]:
    """The people file and the decisions recorded for it."""
    path = tmp_path / "people.jsonl"
    decisions = ingest(store, path, PEOPLE)
    assert [d["decision"] for d in decisions] == [
        "created", "created", "created", "updated", "created", "dropped",
    ]  # fmt: skip
    return path, decisions


def test_email_identifier_merges_splits_drops_and_creates(
    store: str, people: tuple[Path, list[dict]]
) -> None:
    _, decisions = people
    asha, asha_again, ravi, _, phone_only, _ = (d["lead_id"] for d in decisions)
    report = what_if_json(store, "--identifier", "email")

    assert report["identical"] is False
    assert report["switches"] == [{"identifier": "email", "country": None, "position": 0}]
    assert report["summary"] == {
        "payloads": 6,
        "decisions_changed": 4,
        "keys_changed": 0,
        "changed": {
            "created->dropped": 1,
            "created->updated": 1,
            "dropped->created": 1,
            "updated->created": 1,
        },
        "actual_leads": 4,
        "what_if_leads": 4,
        "merges": 1,
        "leads_merged": 2,
        "splits": 1,
        "unreachable": 0,
        "not_created": 1,
        "new_leads": 1,
    }
    by_line = {c["source"]["line"]: c for c in report["changes"]}
    assert by_line.keys() == {2, 4, 5, 6}
    # Asha's second phone updates the what-if lead of her first one.
    assert by_line[2]["what_if"]["key"] == ASHA_EMAIL
    assert by_line[2]["what_if"]["counterpart"] == asha
    assert by_line[5]["what_if"]["reason"] == "identifier_missing"
    assert by_line[6]["what_if"]["key"] == "nisha@example.com"
    [merge] = report["merges"]
    assert merge["actual_leads"] == [asha, asha_again]
    [split] = report["splits"]
    assert (split["actual_lead"], len(split["lead_ids"])) == (ravi, 2)
    assert report["not_created"] == [phone_only]
    assert report["new_leads"] == [by_line[6]["what_if"]["lead_id"]]


def test_human_output_gives_the_counts_then_each_change(
    store: str, people: tuple[Path, list[dict]]
) -> None:
    path, decisions = people
    asha, asha_again, ravi, _, phone_only, _ = (d["lead_id"] for d in decisions)
    result = ok(store, "what-if", "--identifier", "email")
    lines = result.stdout.splitlines()

    assert lines[0] == (
        "What-if, nothing recorded: workspace 'default' with identifier 'email' from the start, "
        f"replayed up to position {log_position(store)}:"
    )
    summary = lines[1 : lines.index("Changed decisions (actual -> what-if):")]
    assert summary == [
        "  payloads     6 replayed",
        "  changed      4 decisions",
        "    created->dropped  1",
        "    created->updated  1",
        "    dropped->created  1",
        "    updated->created  1",
        "  rekeyed      0 (same decision, another key)",
        "  leads        4 actual, 4 what-if",
        "  merges       1 (2 actual leads merge)",
        "  splits       1",
        "  unreachable  0 (no payload would match them any more)",
        "  not created  1 (every payload of theirs dropped)",
        "  new leads    1",
    ]
    [merged] = [line for line in lines if f"{path}:2)" in line]
    assert f"created lead {asha_again} -> updated lead" in merged
    assert f"(key {ASHA_EMAIL}), the what-if of actual lead {asha}" in merged
    [dropped] = [line for line in lines if f"{path}:5)" in line]
    assert dropped.endswith(f"created lead {phone_only} -> dropped (identifier_missing)")
    [created] = [line for line in lines if f"{path}:6)" in line]
    assert "dropped -> created lead" in created
    assert created.endswith("(key nisha@example.com)")
    assert lines.index("Merges (what-if lead <- actual leads):") < lines.index(
        "Splits (actual lead -> what-if leads):"
    )
    assert any(line.endswith(f" <- {asha}, {asha_again}") for line in lines)
    assert any(line.startswith(f"  {ravi} -> ") for line in lines)
    assert lines[-2:] == ["Not created (every payload dropped):", f"  {phone_only}"]
    assert not any(line.startswith("identical") for line in lines)


def test_long_lists_are_cut_with_a_pointer_to_json(
    store: str, people: tuple[Path, list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.base, "LIST_LIMIT", 3)
    lines = ok(store, "what-if", "--identifier", "email").stdout.splitlines()
    start = lines.index("Changed decisions (actual -> what-if):")
    assert [line.startswith("  position ") for line in lines[start + 1 : start + 4]] == [True] * 3
    assert lines[start + 4] == "  ... and 1 more (--json lists all)"


def test_switch_from_a_later_position(store: str, tmp_path: Path) -> None:
    first = ingest(store, tmp_path / "first.jsonl", PEOPLE[:1] + PEOPLE[4:5])
    phone_only = first[1]["lead_id"]
    first_end = log_position(store)
    switched = first_end + 1
    later = ingest(
        store,
        tmp_path / "later.jsonl",
        [{"phone": "+918123456789", "name": "Still no email"}, PEOPLE[0]],
    )
    assert [d["decision"] for d in later] == ["updated", "updated"]

    report = what_if_json(store, "--identifier", "email", "--from", str(switched))
    # Decisions before the switch stand; after it the phone-only lead cannot be matched.
    assert [c["position"] >= switched for c in report["changes"]] == [True]
    [change] = report["changes"]
    assert change["change"] == "updated->dropped"
    assert change["actual"]["lead_id"] == phone_only
    [rebuild] = report["rebuilds"]
    assert rebuild["unreachable"] == [phone_only]
    assert report["unreachable"] == [phone_only]
    assert report["not_created"] == []

    lines = ok(store, "what-if", "--identifier", "email", "--from", str(switched)).stdout
    assert f"from position {switched}, replayed" in lines
    assert "  rebuild      by email, generation 1: 1 unreachable, 0 collisions" in lines
    assert f"  no usable email value: {phone_only}" in lines

    until = what_if_json(store, "--identifier", "email", "--until", str(first_end))
    assert (until["position"], until["summary"]["payloads"]) == (first_end, 2)


def test_what_if_records_nothing(store: str, people: tuple[Path, list[dict]]) -> None:
    before = (ok(store, "replay", "--json").stdout, ok(store, "workspace", "show", "--json").stdout)
    ok(store, "what-if", "--identifier", "email")
    ok(store, "what-if", "--country", "US", "--json")
    ok(store, "identifier", "set", "email", "--dry-run", "--what-if-from", "0")
    after = (ok(store, "replay", "--json").stdout, ok(store, "workspace", "show", "--json").stdout)
    assert after == before
    assert ok(store, "replay", "--verify").exit_code == 0


def test_the_identifier_in_force_is_identical(store: str, tmp_path: Path) -> None:
    ingest(store, tmp_path / "people.jsonl", PEOPLE)
    report = what_if_json(store, "--identifier", "phone")
    assert report["identical"] is True
    assert report["changes"] == []
    assert report["summary"]["decisions_changed"] == 0
    lines = ok(store, "what-if", "--identifier", "phone").stdout.splitlines()
    assert lines[-1] == "identical: the what-if decides every payload as recorded"

    # An identifier change that was recorded, tried from where it was made.
    changed_at = log_position(store) + 1
    ok(store, "identifier", "set", "email")
    ingest(store, tmp_path / "later.jsonl", [{"email": "nisha@example.com", "name": "Nisha"}])
    assert what_if_json(store, "--identifier", "email", "--from", str(changed_at))["identical"]
    assert not what_if_json(store, "--identifier", "email")["identical"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-w", "acme", "--identifier", "email"], "unknown workspace 'acme'"),  # the last -w wins
        (["--identifier", "rating"], "it is a rating field there"),
        (["--identifier", "nope"], "'nope' cannot be the lead identifier"),
        (["--country", "ZZ"], "unknown default country 'ZZ'"),
    ],
)
def test_what_if_errors(store: str, args: list[str], fragment: str) -> None:
    ok(store, "workspace", "create", "rated", "--field", "rating:rating")
    result = run(store, "what-if", "-w", "rated", *args)
    assert_one_error_line(result, fragment)
    assert result.stdout == ""


def test_identifier_set_dry_run_with_what_if_from(
    store: str, people: tuple[Path, list[dict]]
) -> None:
    plain = json.loads(ok(store, "identifier", "set", "email", "--dry-run", "--json").stdout)
    both = json.loads(
        ok(store, "identifier", "set", "email", "--dry-run", "--what-if-from", "0", "--json").stdout
    )
    assert set(both) == {"rebuild", "what_if"}
    assert both["rebuild"] == plain
    assert both["what_if"]["switches"] == [{"identifier": "email", "country": None, "position": 0}]
    assert both["what_if"]["summary"] == what_if_json(store, "--identifier", "email")["summary"]

    human = ok(store, "identifier", "set", "email", "--dry-run", "--what-if-from", "0").stdout
    assert human.startswith("Dry run, nothing recorded. Identifier 'email' would give:")
    assert human.index("  collisions   1") < human.index("What-if, nothing recorded:")
    assert "  merges       1 (2 actual leads merge)" in human


def test_country_set_dry_run_with_what_if_from(store: str, tmp_path: Path) -> None:
    # A national Indian number means something else with the United States as default.
    ingest(store, tmp_path / "p.jsonl", [{"phone": "09812345678"}, {"phone": "+919812345678"}])
    both = json.loads(
        ok(store, "country", "set", "US", "--dry-run", "--what-if-from", "0", "--json").stdout
    )
    assert both["rebuild"]["dry_run"] is True
    assert both["what_if"]["switches"] == [{"identifier": None, "country": "US", "position": 0}]
    assert both["what_if"]["summary"]["changed"] == {
        "created->dropped": 1,
        "updated->created": 1,
    }
    human = ok(store, "country", "set", "US", "--dry-run", "--what-if-from", "0").stdout
    assert "with default country 'US' from the start" in human


def test_what_if_from_needs_dry_run(store: str, people: tuple[Path, list[dict]]) -> None:
    assert_one_error_line(
        run(store, "identifier", "set", "email", "--what-if-from", "0"), "needs --dry-run"
    )
    assert_one_error_line(run(store, "country", "set", "US", "--what-if-from", "0"), "--dry-run")
    shown = json.loads(ok(store, "workspace", "show", "--json").stdout)
    assert (shown["identifier"], shown["country"], shown["generation"]) == ("phone", "IN", 0)
