"""The rules have a version: every decision records it, a replay tells a decision recorded
under other rules (or other library versions) from one the log does not re-derive, and a
what-if shows what today's rules would change."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadkey.adapters.application import Leadkey
from leadkey.domain import decisions
from leadkey.domain.lead import DECISION_EVENTS
from leadkey.domain.normalization import NORMALIZER_VERSIONS
from leadkey.domain.payload import MAX_FIELDS
from leadkey.domain.rules import RULES_VERSION, rules_version
from leadkey.projections.identifier_index import read_log
from leadkey.projections.what_if import Switch

LIBRARIES = NORMALIZER_VERSIONS.split("; ", 1)[1]
#: A payload that rules 1 created a lead for, and rules 2 drops (too many fields).
CROWDED = {"fields": {"phone": "9811200977", **{f"f{n}": n for n in range(MAX_FIELDS)}}}


def test_every_decision_records_the_rule_version(app: Leadkey) -> None:
    app.create_workspace("w")
    list(app.ingest_many("w", [{"fields": {"phone": "9811200977"}}, {"fields": {}}, "no"]))
    recorded = {e.normalizer for e, _ in read_log(app._log) if isinstance(e, DECISION_EVENTS)}
    assert recorded == {NORMALIZER_VERSIONS}
    assert NORMALIZER_VERSIONS.startswith(f"leadkey rules {RULES_VERSION}; phonenumbers ")
    assert rules_version(NORMALIZER_VERSIONS) == RULES_VERSION == 2


@pytest.mark.parametrize(
    ("normalizer", "version"),
    [(LIBRARIES, 1), (None, 1), ("leadkey rules 17; phonenumbers 9.0.1", 17), ("", 1)],
)
def test_a_record_without_a_rule_version_is_of_rules_1(
    normalizer: str | None, version: int
) -> None:
    assert rules_version(normalizer) == version


def _ingest_as_of_old(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch, normalizer: str, payload: object
) -> None:
    """Record ``payload`` as a leadkey of other rules or libraries did: without the field
    limit, and naming ``normalizer``."""
    with monkeypatch.context() as patch:
        patch.setattr(decisions, "MAX_FIELDS", 10**6)
        patch.setattr(decisions, "NORMALIZER_VERSIONS", normalizer)
        assert app.ingest("w", payload).outcome == "created"


@pytest.mark.parametrize(
    ("normalizer", "kind"),
    [(LIBRARIES, "rules"), (f"leadkey rules {RULES_VERSION}; phonenumbers 8.0.0", "versions")],
)
def test_replay_names_a_divergence_an_upgrade_explains(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch, normalizer: str, kind: str
) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"phone": "9811200978"}})
    _ingest_as_of_old(app, monkeypatch, normalizer, CROWDED)
    report = app.replay("w")
    [divergence] = report.divergences
    assert divergence.kind == kind and divergence.explained
    assert divergence.differences["outcome"] == ("created", "dropped")
    assert divergence.differences["reason"] == (None, "too_many_fields")
    assert report.verified and not report.exact
    assert report.kinds() == {kind: 1}
    data = report.as_dict()
    assert data["divergence_kinds"] == {kind: 1} and data["divergences"][0]["kind"] == kind
    assert (
        divergence.cause == "recorded under leadkey rules 1; these are rules 2"
        if kind == "rules"
        else "normalizer versions differ" in divergence.cause
    )


def test_a_divergence_no_upgrade_explains_fails_verification(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_workspace("w")
    _ingest_as_of_old(app, monkeypatch, NORMALIZER_VERSIONS, CROWDED)  # today's versions
    report = app.replay("w")
    assert [d.kind for d in report.divergences] == ["log"]
    assert not report.verified and report.kinds() == {"log": 1}


def test_what_if_with_todays_rules_shows_what_an_upgrade_changes(
    app: Leadkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_workspace("w")
    kept = app.ingest("w", {"fields": {"phone": "9811200978"}})
    _ingest_as_of_old(app, monkeypatch, LIBRARIES, CROWDED)
    crowded = app._log.recorder.max_notification_id() - 1  # the decision; its step follows
    report = app.what_if("w", Switch())
    assert [(c.position, c.kind, c.reason) for c in report.changes] == [
        (crowded, "created->dropped", "too_many_fields")
    ]
    assert len(report.not_created) == 1 and kept.lead_id not in report.not_created
    assert not report.identical


def test_what_if_with_todays_rules_of_a_store_of_today_is_identical(app: Leadkey) -> None:
    app.create_workspace("w")
    list(app.ingest_many("w", [{"fields": {"phone": "9811200977"}}, {"fields": {"phone": "x"}}]))
    app.change_identifier("w", "email")
    app.ingest("w", {"fields": {"email": "A@example.com"}})
    assert app.what_if("w", Switch()).identical


def test_cli_replay_counts_divergences_by_kind_and_verifies_upgrades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from leadkey.adapters.cli import main

    store = f"sqlite:///{tmp_path / 'old.db'}"
    app = Leadkey(store)
    app.create_workspace("w")
    _ingest_as_of_old(app, monkeypatch, LIBRARIES, CROWDED)
    app.close()
    runner = CliRunner()
    result = runner.invoke(main, ["--store", store, "replay", "-w", "w", "--verify"])
    assert result.exit_code == 0, result.output
    assert "1 decision(s) were recorded under other leadkey rules" in result.output
    assert "what-if" in result.output  # how to see what today's rules change
    strict = runner.invoke(main, ["--store", store, "replay", "-w", "w", "--verify", "--exact"])
    assert strict.exit_code == 1
    what = runner.invoke(main, ["--store", store, "what-if", "-w", "w"])
    assert what.exit_code == 0 and "created->dropped  1" in what.output
