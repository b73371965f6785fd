"""Domain rules at their edges: what a reading, a limit, an aggregate or a recorded step
does where the common cases do not reach."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime
from functools import partial
from uuid import uuid4

import pytest

from leadkey.adapters.application import Leadkey
from leadkey.domain import normalization
from leadkey.domain.decisions import Decision, DropReason, Outcome, identifier_value
from leadkey.domain.field_types import FieldRejected, FieldType, coerce
from leadkey.domain.lead import DroppedPayload
from leadkey.domain.memo import Memo
from leadkey.domain.payload import (
    MAX_NUMBER_CHARS,
    TOO_LARGE,
    PayloadRefused,
    dumps,
    parse,
    record_text,
)
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import InvalidConfiguration, Workspace, workspace_id
from leadkey.projections.identifier_index import read_log

PHONE = "9811200977"

# -- phone: international readings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "key"),
    [
        ("0011 44 20 7946 0958", "AU", "+442079460958"),  # AU's own prefix is 0011
        ("0011 1 415 555 0123", "AU", "+14155550123"),
        ("010 44 20 7946 0958", "JP", "+442079460958"),  # JP's is 010
    ],
)
def test_the_default_countrys_own_international_prefix_reads_as_international(
    raw: str, region: str, key: str
) -> None:
    assert normalization.phone_key(raw, region) == key


def test_longer_than_a_fixed_line_or_mobile_number_is_international() -> None:
    """Costa Rica's fixed-line and mobile numbers have 8 digits (its toll-free ones 10):
    10 digits that are invalid there are read as +digits (README, Phone, step 6)."""
    assert normalization.phone_key("8675795696", "CR") == "+8675795696"


# -- decisions: parsing, identifiers and the work done ahead -------------------------------


def _config(app: Leadkey, **options: object):
    return app.create_workspace("w", **options).config  # type: ignore[arg-type]


def test_an_escaped_unpaired_surrogate_in_a_field_name_drops_the_payload(app: Leadkey) -> None:
    payload = '{"fields": {"phone": "9811200977", "\\ud800": "x"}}'
    decision = app.ingest(_config(app).name, payload)
    assert decision.reason is DropReason.PAYLOAD_MALFORMED
    assert "unpaired surrogate" in decision.message


def test_only_phone_email_and_text_fields_have_identifier_values() -> None:
    with pytest.raises(normalization.UnusableValue, match="a number field cannot be the lead"):
        identifier_value(FieldType.NUMBER, 3, "IN")


def _outcome(function: Callable[[], str]) -> str | tuple[str, str, bool]:
    try:
        return function()
    except normalization.UnusableValue as error:
        return ("unusable", error.reason, error.empty)


@pytest.mark.parametrize(
    "normalize",
    [
        lambda: normalization.phone_key("0091 98112 00977", "IN"),  # (the full path: memoized)
        lambda: normalization.phone_key("0091 98112 00977", "US"),  # another region, same text
        lambda: normalization.phone_key("+1 (0) 202", "US"),
        lambda: normalization.email_key("Ahead.Ä@Example.com").key,
        lambda: normalization.email_key("ahead.ä@example.com").key,
        lambda: normalization.email_key("not an address"),
    ],
)
def test_a_memoized_result_is_what_a_cold_process_computes(normalize: Callable[[], str]) -> None:
    normalization.forget()
    cold = _outcome(normalize)
    assert _outcome(normalize) == cold  # (from the memo)
    for other in ("0091 98112 00977", "+44 20 7946 0958"):
        for region in ("IN", "US", "GB"):
            _outcome(partial(normalization.phone_key, other, region))
    assert _outcome(normalize) == cold


def test_a_memo_forgets_its_oldest_quarter_when_full() -> None:
    memo: Memo[int, int] = Memo(8)
    for n in range(8):
        memo.put(n, n * n)
    assert len(memo) == 8 and memo.get(0) == 0
    memo.put(8, 64)
    assert len(memo) == 7
    assert [memo.get(n) for n in (0, 1, 2, 3, 8)] == [None, None, 4, 9, 64]


@pytest.mark.parametrize("size, kept", [(0, [3]), (1, [3]), (2, [2, 3]), (3, [1, 2, 3])])
def test_a_small_memo_forgets_one_at_a_time(size: int, kept: list[int]) -> None:
    memo: Memo[int, int] = Memo(size)  # (a size below 1 holds one)
    for n in (1, 2, 3):
        memo.put(n, n)
    assert [n for n in (1, 2, 3) if memo.get(n) is not None] == kept


# -- payload limits: numbers and the reasons given -------------------------------------------


def test_numbers_are_read_exactly_when_a_long_run_of_digits_is_about(app: Leadkey) -> None:
    """A run of more than 100 number characters anywhere (here in a text) makes every
    number of the payload be checked; the numbers within the limit are read as usual."""
    app.create_workspace("w", fields={"n": "number", "m": "number"})
    payload = json.dumps({"fields": {"phone": PHONE, "name": "9" * 150, "n": 2.5, "m": -3}})
    decision = app.ingest("w", payload)
    assert decision.applied == {"phone": "+919811200977", "name": "9" * 150, "n": 2.5, "m": -3}


def test_a_refused_payload_reads_as_its_message() -> None:
    with pytest.raises(PayloadRefused, match=f"the limit is {MAX_NUMBER_CHARS}$") as caught:
        parse('{"n": ' + "1" * (MAX_NUMBER_CHARS + 1) + "}")
    assert caught.value.reason is DropReason.NUMBER_TOO_LONG


def test_non_finite_numbers_are_written_as_json_writes_them_beside_a_huge_integer() -> None:
    value = {"big": 10**5000, "floats": [math.inf, -math.inf, math.nan, -0.0, 2.5]}
    text = dumps(value)  # past Python's integer limit: written without json.dumps
    assert text.endswith('"floats": [Infinity, -Infinity, NaN, -0.0, 2.5]}')
    assert text.startswith('{"big": 1' + "0" * 20)


# -- dates: epoch milliseconds within the calendar ---------------------------------------------


@pytest.mark.parametrize("ms", [-62135596800001, 253402300800000, 10**30])
def test_epoch_milliseconds_outside_years_1_to_9999_are_rejected(ms: int) -> None:
    with pytest.raises(FieldRejected, match="epoch milliseconds out of range"):
        coerce(FieldType.DATE, ms, country="IN", timezone="UTC")


# -- aggregates: what a store gives back -------------------------------------------------------


def test_a_dropped_payload_loads_as_an_aggregate_with_its_reason(app: Leadkey) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"name": "no phone"}})
    [event] = [e for e, _ in read_log(app._log) if isinstance(e, DroppedPayload.PayloadDropped)]
    dropped = app._log.repository.get(event.originator_id)
    assert (dropped.version, dropped.workspace_id) == (1, workspace_id("w"))
    assert dropped.reason == "identifier_missing"
    assert dropped.message == "no value for the lead identifier field 'phone'"


def test_a_lead_knows_its_workspace(app: Leadkey) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", {"fields": {"phone": PHONE}})
    assert decision.outcome is Outcome.CREATED
    assert app._log.repository.get(decision.lead_id).workspace_id == workspace_id("w")


def test_every_batch_and_configuration_change_takes_the_next_step(app: Leadkey) -> None:
    """The decision sequence goes up by one per batch and per change, from 1 (its start):
    what lets the store refuse a batch decided under a configuration changed since."""
    app.create_workspace("w")
    list(app.ingest_many("w", [{"fields": {"phone": PHONE}}] * 3, batch_size=2))  # 2 batches
    app.change_identifier("w", "email")
    app.ingest("w", {"fields": {"email": "a@example.com"}})
    steps = [
        (e.originator_version, getattr(e, "kind", "start"))
        for e, _ in read_log(app._log)
        if isinstance(e, DecisionSequence.SequenceStarted | DecisionSequence.Stepped)
    ]
    assert steps == [
        (1, "start"),
        (2, "decisions"),
        (3, "decisions"),
        (4, "configuration"),
        (5, "decisions"),
    ]
    assert app.workspace("w").sequence == 5


# -- workspace names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "x" * 129, "a\nb", "tab\there"])
def test_a_workspace_name_that_cannot_be_is_refused(app: Leadkey, name: str) -> None:
    with pytest.raises(InvalidConfiguration, match="a workspace name must be"):
        app.create_workspace(name)


# -- the JSON writer, the recorded text and the types named in messages -------------------


def test_a_value_shared_twice_is_written_twice_not_refused_as_circular() -> None:
    shared = [1, {"a": "é"}]
    value = {"x": shared, "y": shared, "big": 10**5000}  # past json.dumps: written by leadkey
    assert dumps(value).startswith('{"x": [1, {"a": "é"}], "y": [1, {"a": "é"}], "big": 1000')


def test_a_payload_object_is_recorded_as_utf8_json(app: Leadkey) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", {"fields": {"phone": PHONE, "name": "José"}})
    assert decision.payload == '{"fields": {"phone": "9811200977", "name": "José"}}'


def test_a_large_text_with_unpaired_surrogates_is_recorded_by_size() -> None:
    recorded = record_text("\ud800" * 400_000)  # 3 bytes each
    assert recorded.startswith(f"{TOO_LARGE}1200000 bytes, sha256 ")


def test_an_escaped_unpaired_surrogate_in_an_array_drops_the_payload(app: Leadkey) -> None:
    payload = '{"fields": {"phone": "9811200977"}, "actions": [["\\udc00"]]}'
    assert app.ingest(_config(app).name, payload).reason is DropReason.PAYLOAD_MALFORMED


def test_a_value_of_no_json_type_is_named_by_its_python_type() -> None:
    with pytest.raises(normalization.UnusableValue, match=r"must be a JSON string, not bytes$"):
        normalization.phone_key(b"9811200977", "IN")


def test_an_email_with_a_control_character_says_so() -> None:
    with pytest.raises(normalization.UnusableValue) as caught:
        normalization.email_key("a\x1f@example.com")
    assert caught.value.reason == "not a valid email address: contains a control character U+001F"


# -- workspaces: defaults and the standard fields ------------------------------------------------


def test_a_workspace_created_without_settings_matches_on_phone_in_utc() -> None:
    workspace = Workspace.create("plain")
    assert (workspace.identifier, workspace.timezone, workspace.country) == ("phone", "UTC", "IN")


def test_a_standard_field_may_be_named_with_its_own_type_only(app: Leadkey) -> None:
    app.create_workspace("w", fields={"phone": "phone", "n": "number"})
    with pytest.raises(InvalidConfiguration, match="'email' is a standard email field"):
        app.create_workspace("v", fields={"email": "text"})


def test_the_decision_sequence_of_a_workspace_keeps_its_id() -> None:
    """Stores already hold it: the id is part of the stored format."""
    sequence = DecisionSequence.create_id(workspace_id("acme"))
    assert str(sequence) == "7f572865-c9ee-5ad0-a0bd-3c0a9e2594de"


# -- more edges a mutation run found untested ------------------------------------------------


def test_a_payload_of_exactly_one_mebibyte_is_read_and_one_byte_more_is_not(app: Leadkey) -> None:
    app.create_workspace("w")
    base = json.dumps({"fields": {"phone": PHONE, "name": ""}})
    fits = base.replace('"name": ""', '"name": "' + "x" * (1_048_576 - len(base)) + '"')
    assert app.ingest("w", fits).outcome is Outcome.CREATED
    too_large = fits.replace('"x', '"xx', 1)
    assert app.ingest("w", too_large).reason is DropReason.PAYLOAD_TOO_LARGE


def test_a_full_width_plus_starts_an_international_number() -> None:
    assert normalization.phone_key("＋91 98112 00977", "US") == "+919811200977"
    with pytest.raises(normalization.UnusableValue):  # as written, like "+": never national
        normalization.phone_key("＋0091 99999 99999", "IN")


def test_a_huge_negative_integer_is_written_with_its_sign() -> None:
    assert dumps([-(10**5000)]).startswith("[-1000")


def test_an_email_longer_than_254_characters_says_so() -> None:
    with pytest.raises(normalization.UnusableValue) as caught:
        normalization.email_key("a" * 250 + "@example.com")
    assert caught.value.reason == "not a valid email address: longer than 254 characters"


def test_a_workspace_name_with_an_unpaired_surrogate_is_refused(app: Leadkey) -> None:
    with pytest.raises(InvalidConfiguration, match="printable Unicode text"):
        app.create_workspace("shop\ud800")


def test_a_recorded_decision_keeps_every_other_attribute() -> None:
    decision = Decision(
        Outcome.DROPPED,
        "{}",
        uuid4(),
        "k",
        DropReason.IDENTIFIER_MISSING,
        "m",
        {"a": 1},
        {"a": "1"},
        {"b": "r"},
        {"c": "i"},
        None,
        None,
        None,
        True,
    )
    at = datetime(2026, 12, 1, tzinfo=UTC)
    recorded = decision.recorded(7, at)
    assert [getattr(recorded, f.name) for f in fields(Decision)] == [
        getattr(replace(decision, position=7, recorded_at=at), f.name) for f in fields(Decision)
    ]
