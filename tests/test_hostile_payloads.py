"""Payloads built to trip the store or the parser still end as recorded decisions, and
the log they leave can be read back."""

from __future__ import annotations

import pytest

from leadkey.adapters.application import Leadkey, Submission
from leadkey.domain.decisions import DropReason, Outcome
from leadkey.projections.identifier_index import index_at


@pytest.mark.parametrize(
    "payload",
    [
        # names that read back as a transcoded object if stored as a JSON object's keys
        {"fields": {"phone": "9999999999", "_type_": "uuid_hex", "_data_": "x"}},
        '{"fields": {"phone": "9999999999", "name": NaN, "rating": Infinity}}',
        '{"fields": {"phone": "9999999999", "name": "' + "x" * 100_000 + '"}}',
        '{"fields": {"phone": "9999999999", "phone": "8888888888"}}',  # last one wins
    ],
)
def test_decisions_on_odd_payloads_survive_a_restart(sqlite_url: str, payload: object) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace("w")
    decision = app.ingest("w", payload)
    assert decision.outcome is Outcome.CREATED
    app.close()
    reopened = Leadkey(sqlite_url)  # start-up reads every event back
    assert reopened.lookup("w", decision.key).lead_id == decision.lead_id
    assert index_at(reopened._log).view.workspace("w").index == reopened.workspace("w").index
    reopened.close()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, DropReason.PAYLOAD_TOO_DEEP),
        (
            '{"fields": {"phone": "9999999999", "x": ' + "[" * 900 + '"\\ud800"' + "]" * 900 + "}}",
            DropReason.PAYLOAD_TOO_DEEP,
        ),
        ('{"fields": {"phone": "9' + "9" * 5000 + '"}}', DropReason.IDENTIFIER_UNUSABLE),
        ('{"fields": {"phone": ' + "9" * 5000 + "}}", DropReason.NUMBER_TOO_LONG),
    ],
)
def test_pathological_json_is_a_recorded_drop(
    app: Leadkey, payload: str, reason: DropReason
) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", payload)
    assert decision.outcome is Outcome.DROPPED
    assert decision.reason is reason
    assert decision.message


@pytest.mark.parametrize(
    "source", [{"when": object()}, {1: "x"}, {"_type_": "uuid_hex", "_data_": "0"}, ["file"]]
)
def test_sources_that_cannot_be_recorded_are_refused_up_front(source: object) -> None:
    with pytest.raises(TypeError):
        Submission({"fields": {}}, source)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("site", "http://[::1"),  # urlsplit raises on a bad IPv6 literal
        ("site", "https://exa\u2100mple.com/"),  # ... and on a netloc that NFKC changes
        ("due", "31/12/9999 23:00:00"),  # out of range once moved to UTC
    ],
)
def test_values_that_break_parsers_are_rejected_alone(field: str, value: str) -> None:
    app = Leadkey("memory:")
    app.create_workspace(
        "w", timezone="America/New_York", fields={"site": "website", "due": "date"}
    )
    decisions = list(
        app.ingest_many(
            "w",
            [
                {"fields": {"phone": "9999999999", field: value}},
                {"fields": {"phone": "9999999998"}},
            ],
        )
    )
    assert [d.outcome for d in decisions] == [Outcome.CREATED, Outcome.CREATED]
    assert field in decisions[0].rejected


@pytest.mark.parametrize(
    "payload",
    [
        b'{"fields": {"phone": "9999999999", "name": "Jo\\\xe9"}}',  # backslash, then bad UTF-8
        b'{"fields": {"phone": "9999999999", "name": "Jos\xe9"}}',
        '{"fields": {"phone": "9999999999", "name": "Jo\\\udce9"}}',
    ],
)
def test_text_that_is_not_unicode_is_dropped_not_altered(app: Leadkey, payload: object) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", payload)
    assert decision.reason is DropReason.PAYLOAD_MALFORMED
    assert "Unicode" in decision.message


def test_batch_size_must_be_positive(app: Leadkey) -> None:
    app.create_workspace("w")
    for size in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            list(app.ingest_many("w", [{"fields": {"phone": "9999999999"}}], batch_size=size))


def test_rejected_long_values_are_not_cached() -> None:
    from leadkey.domain.normalization import _EMAIL_MEMO, _PHONE_MEMO

    app = Leadkey("memory:")
    app.create_workspace("w")
    before = len(_PHONE_MEMO), len(_EMAIL_MEMO)
    for n in range(20):
        app.ingest(
            "w", {"fields": {"phone": "9" * 10_000 + str(n), "email": "a" * 10_000 + "@x.com"}}
        )
    after = len(_PHONE_MEMO), len(_EMAIL_MEMO)
    assert after == before
