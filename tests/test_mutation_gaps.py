"""Rules a user relies on that no other test pinned down: the edges of each field type,
the wording of a drop for an identifier of the wrong JSON type, what ``explain`` says
about each decision, and where the identifier index resumes when it catches up."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.domain.decisions import DropReason, Outcome
from leadkey.domain.errors import UnknownLead
from leadkey.domain.field_types import FieldRejected, FieldType, FieldValue, coerce
from leadkey.domain.lead import DroppedPayload, Lead
from leadkey.domain.normalization import NORMALIZER_VERSIONS, UnusableValue, phone_key
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import Workspace, workspace_id
from leadkey.projections.audit import (
    DecisionExplained,
    Divergence,
)
from leadkey.projections.identifier_index import (
    IdentifierIndexProjection,
    IndexView,
    WorkspaceIndex,
    index_at,
    read_log,
)

PHONE = "9999999999"
KEY = "+919999999999"


def accepted(field_type: FieldType, raw: Any, timezone: str = "UTC") -> Any:
    """The value a field of ``field_type`` stores for ``raw``."""
    value = coerce(field_type, raw, country="IN", timezone=timezone)
    assert isinstance(value, FieldValue)
    return value.stored


def rejected(field_type: FieldType, raw: Any, timezone: str = "UTC") -> str:
    """The reason a field of ``field_type`` gives for refusing ``raw``."""
    with pytest.raises(FieldRejected) as caught:
        coerce(field_type, raw, country="IN", timezone=timezone)
    return str(caught.value)


# -- number: any finite JSON number -----------------------------------------------------


@pytest.mark.parametrize("raw", [2.5, -0.5, 1e10, 0.0, -7, 0, 10**30])
def test_a_number_field_takes_fractions_negatives_and_exponents(raw: float) -> None:
    assert accepted(FieldType.NUMBER, raw) == raw


@settings(max_examples=200, deadline=None)
@given(raw=st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_json_number_is_a_number(raw: float) -> None:
    assert accepted(FieldType.NUMBER, raw) == raw


@pytest.mark.parametrize(
    "raw", [math.nan, math.inf, -math.inf, True, False, "2.5", "1000", "", [1], {"n": 1}]
)
def test_a_number_field_rejects_nan_infinity_booleans_and_strings(raw: Any) -> None:
    assert rejected(FieldType.NUMBER, raw) == "expected a JSON number"


@pytest.mark.parametrize(
    ("literal", "outcome"),
    [
        ("2.5", 2.5),
        ("-0.5", -0.5),
        ("1e10", 1e10),
        ("NaN", None),
        ("Infinity", None),
        ("-Infinity", None),
    ],
)
def test_json_nan_and_infinity_in_a_number_field_are_rejected_alone(
    app: Leadkey, literal: str, outcome: float | None
) -> None:
    app.create_workspace("w", fields={"deal_size": "number"})
    decision = app.ingest("w", f'{{"fields": {{"phone": "{PHONE}", "deal_size": {literal}}}}}')
    assert decision.outcome is Outcome.CREATED
    if outcome is None:
        assert decision.rejected == {"deal_size": "expected a JSON number"}
        assert "deal_size" not in app.lookup("w", PHONE).fields
    else:
        assert decision.applied["deal_size"] == outcome
        assert app.lookup("w", PHONE).fields["deal_size"] == outcome


# -- tags: an array of non-empty strings --------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(tags=st.lists(st.text(min_size=1), max_size=8))
def test_tags_keep_the_first_of_each_in_order(tags: list[str]) -> None:
    assert accepted(FieldType.TAGS, tags) == list(dict.fromkeys(tags))


@settings(max_examples=100, deadline=None)
@given(
    good=st.lists(st.text(min_size=1), max_size=4),
    bad=st.sampled_from(["", 3, 2.5, True, None, ["a"], {"a": "b"}]),
    at=st.integers(0, 4),
)
def test_one_empty_or_non_string_tag_rejects_the_whole_array(
    good: list[str], bad: Any, at: int
) -> None:
    tags = [*good[:at], bad, *good[at:]]
    assert rejected(FieldType.TAGS, tags) == "expected an array of non-empty strings"


@pytest.mark.parametrize("raw", ["VIP", "VIP, Returning", 3, {"VIP": True}])
def test_tags_must_be_an_array(raw: Any) -> None:
    assert rejected(FieldType.TAGS, raw) == "expected an array of non-empty strings"


# -- website and medialink: http(s) URLs with a host ---------------------------------------

URL_TYPES = [FieldType.WEBSITE, FieldType.MEDIALINK]


@pytest.mark.parametrize("field_type", URL_TYPES)
@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("https://example.com", "https://example.com"),
        ("http://example.com/path?q=1#top", "http://example.com/path?q=1#top"),
        ("  https://cdn.example.com/a.png \n", "https://cdn.example.com/a.png"),
        ("HTTPS://Example.com", "HTTPS://Example.com"),
    ],
)
def test_http_and_https_urls_with_a_host_are_stored_trimmed(
    field_type: FieldType, raw: str, stored: str
) -> None:
    assert accepted(field_type, raw) == stored


@pytest.mark.parametrize("field_type", URL_TYPES)
@pytest.mark.parametrize(
    "raw",
    ["ftp://x", "https:", "https://", "http:///path", "mailto:a@b", "example.com", "", "   "],
)
def test_other_schemes_and_urls_without_a_host_are_rejected(
    field_type: FieldType, raw: str
) -> None:
    assert rejected(field_type, raw) == "expected an http(s) URL"


@pytest.mark.parametrize("raw", [5, ["https://example.com"], True])
def test_a_url_must_be_a_string(raw: Any) -> None:
    assert rejected(FieldType.WEBSITE, raw) == "expected a URL string"


def test_a_website_field_stores_the_trimmed_url_on_the_lead(app: Leadkey) -> None:
    app.create_workspace("w", fields={"site": "website", "media": "medialink"})
    fields = {"phone": PHONE, "site": " https://acme.example/ ", "media": "ftp://acme.example/x"}
    decision = app.ingest("w", {"fields": fields})
    assert decision.applied["site"] == "https://acme.example/"
    assert decision.rejected == {"media": "expected an http(s) URL"}


# -- rating: an integer from 1 to 5 ---------------------------------------------------------


@pytest.mark.parametrize("raw", [1, 2, 3, 4, 5])
def test_every_rating_from_one_to_five_is_accepted(raw: int) -> None:
    assert accepted(FieldType.RATING, raw) == raw


@settings(max_examples=100, deadline=None)
@given(raw=st.integers().filter(lambda n: not 1 <= n <= 5))
def test_an_integer_outside_one_to_five_is_no_rating(raw: int) -> None:
    assert rejected(FieldType.RATING, raw) == "Rating must be between 1 and 5"


@pytest.mark.parametrize("raw", [0, 6, 2.5, 3.0, True, False, "3", None])
def test_a_rating_must_be_a_whole_json_number_within_range(raw: Any) -> None:
    assert rejected(FieldType.RATING, raw) == "Rating must be between 1 and 5"


# -- money: a numeric string ----------------------------------------------------------------

MONEY_REASON = 'expected a numeric string such as "1000" or "99.50"'


@pytest.mark.parametrize("raw", ["1000", "99.50", "0", "0.5", "007"])
def test_money_takes_digits_with_an_optional_fraction_as_sent(raw: str) -> None:
    assert accepted(FieldType.MONEY, raw) == raw


@pytest.mark.parametrize(
    "raw", ["1,000", "-5", "+5", "1.", ".5", "1.2.3", "1e3", " 5", "5 ", "", "₹5", 5, 99.5]
)
def test_money_rejects_separators_signs_bare_points_and_numbers(raw: Any) -> None:
    assert rejected(FieldType.MONEY, raw) == MONEY_REASON


# -- date: epoch milliseconds or DD/MM/YYYY[ HH:mm:ss] in the workspace time zone -----------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IST = timedelta(hours=5, minutes=30)  # Asia/Kolkata: no daylight saving since 1945


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, computed without leadkey."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    ("raw", "timezone", "stored"),
    [
        (0, "UTC", "1970-01-01T00:00:00.000Z"),
        (1672561800123, "Asia/Kolkata", "2023-01-01T08:30:00.123Z"),  # epoch: no time zone
        (-1, "UTC", "1969-12-31T23:59:59.999Z"),
        ("01/06/2026", "UTC", "2026-06-01T00:00:00.000Z"),
        ("01/06/2026", "Asia/Kolkata", "2026-05-31T18:30:00.000Z"),
        ("01/06/2026 10:30:00", "Asia/Kolkata", "2026-06-01T05:00:00.000Z"),
        ("15/01/2026 09:00:00", "America/New_York", "2026-01-15T14:00:00.000Z"),
        ("29/02/2024", "UTC", "2024-02-29T00:00:00.000Z"),
    ],
)
def test_dates_are_stored_as_iso_utc_with_milliseconds(
    raw: Any, timezone: str, stored: str
) -> None:
    assert accepted(FieldType.DATE, raw, timezone) == stored


@settings(max_examples=100, deadline=None)
@given(ms=st.integers(-(10**12), 10**13))
def test_epoch_milliseconds_are_that_instant_in_utc(ms: int) -> None:
    assert accepted(FieldType.DATE, ms) == iso_utc(EPOCH + timedelta(milliseconds=ms))


@settings(max_examples=100, deadline=None)
@given(local=st.datetimes(datetime(1950, 1, 1), datetime(2100, 12, 31)))
def test_a_written_date_is_read_in_the_workspace_time_zone(local: datetime) -> None:
    local = local.replace(microsecond=0)
    raw = local.strftime("%d/%m/%Y %H:%M:%S")
    expected = iso_utc((local - IST).replace(tzinfo=UTC))
    assert accepted(FieldType.DATE, raw, "Asia/Kolkata") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2024-02-29",
        "2024-02-29T10:30:00Z",
        "31/02/2024",
        "1/6/2026",
        "01/06/26",
        "01/06/2026 10:30",
        "01/06/2026T10:30:00",
        True,
        False,
        1.5e12,
        None,
    ],
)
def test_iso_strings_impossible_dates_booleans_and_fractions_are_no_dates(raw: Any) -> None:
    rejected(FieldType.DATE, raw, "Asia/Kolkata")


def test_a_date_field_uses_the_workspace_time_zone(app: Leadkey) -> None:
    app.create_workspace("w", timezone="Asia/Kolkata", fields={"due": "date"})
    decision = app.ingest("w", {"fields": {"phone": PHONE, "due": "01/06/2026 10:30:00"}})
    assert decision.applied["due"] == "2026-06-01T05:00:00.000Z"


# -- dropdown: any non-empty label ----------------------------------------------------------


@pytest.mark.parametrize("raw", ["Instagram", "a new label", " padded ", "0"])
def test_any_non_blank_label_is_accepted_as_sent(raw: str) -> None:
    assert accepted(FieldType.DROPDOWN, raw) == raw


@pytest.mark.parametrize("raw", ["", "  ", "\t\n", 3, True, ["Instagram"], None])
def test_blank_or_non_string_labels_are_rejected(raw: Any) -> None:
    assert rejected(FieldType.DROPDOWN, raw) == "expected a non-empty string label"


# -- an identifier of the wrong JSON type: the drop says which type it was ------------------


@pytest.mark.parametrize(
    ("identifier", "field_types", "words"),
    [
        ("phone", {}, "a phone number"),
        ("email", {}, "an email address"),
        ("cid", {"cid": "text"}, "a text identifier"),
    ],
)
@pytest.mark.parametrize(
    ("raw", "json_type"),
    [
        (True, "a boolean"),
        (False, "a boolean"),
        (3, "a number"),
        (2.5, "a number"),
        ([], "an array"),
        (["x"], "an array"),
        ({}, "an object"),
    ],
)
def test_an_identifier_that_is_no_string_is_dropped_naming_its_json_type(
    app: Leadkey,
    identifier: str,
    field_types: dict[str, str],
    words: str,
    raw: Any,
    json_type: str,
) -> None:
    app.create_workspace("w", identifier=identifier, fields=field_types)
    decision = app.ingest("w", {"fields": {identifier: raw}})
    assert decision.reason is DropReason.IDENTIFIER_UNUSABLE
    assert decision.message is not None
    assert decision.message.startswith(f"identifier {identifier!r}: {words} must be")
    assert decision.message.endswith(f" must be a JSON string, not {json_type}")


def test_a_phone_or_email_field_of_the_wrong_type_is_rejected_naming_its_type(
    app: Leadkey,
) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", {"fields": {"phone": PHONE, "email": True, "name": None}})
    assert decision.rejected["email"].endswith("must be a JSON string, not a boolean")
    # null in a field that is not the identifier is "not supplied", never a wrong type
    assert decision.ignored == {"name": "null means not supplied"}


def test_looking_up_null_says_it_is_null(app: Leadkey) -> None:
    app.create_workspace("w")
    with pytest.raises(UnusableValue) as caught:
        app.lookup("w", None)
    assert str(caught.value) == "a phone number must be a JSON string, not null"


@pytest.mark.parametrize("raw", ["99999", "", None, "N/A"])
def test_an_unusable_value_reads_as_its_reason(raw: Any) -> None:
    with pytest.raises(UnusableValue) as caught:
        phone_key(raw, "IN")
    assert caught.value.reason
    assert str(caught.value) == caught.value.reason


# -- explain: each decision in an auditor's terms -------------------------------------------


def test_explaining_a_lead_that_does_not_exist_is_an_error(app: Leadkey) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"phone": PHONE}})
    for not_a_lead in (uuid4(), workspace_id("w"), str(uuid4())):
        with pytest.raises(UnknownLead):
            app.explain_lead(not_a_lead)


@pytest.fixture
def history(app: Leadkey) -> list[DecisionExplained]:
    """A lead created from line 1 of a.jsonl, then updated by another spelling."""
    app.create_workspace("w")
    app.ingest(
        "w", {"fields": {"phone": PHONE, "name": "A"}}, source={"file": "a.jsonl", "line": 1}
    )
    app.ingest("w", {"fields": {"phone": "+91 99999 99999", "name": "B", "email": "bad@", "x": 1}})
    [lead] = app.workspace("w").versions
    return app.explain_lead(lead)


def lead_of(app: Leadkey) -> UUID:
    lead = app.lookup("w", PHONE)
    assert lead is not None
    return lead.lead_id


def without_time(explained: dict[str, Any]) -> dict[str, Any]:
    """``explained`` without ``recorded_at`` (checked apart: it is the recording time)."""
    datetime.fromisoformat(explained["recorded_at"])
    return {k: v for k, v in explained.items() if k != "recorded_at"}


def test_an_explained_creation_says_which_key_no_lead_held(
    app: Leadkey, history: list[DecisionExplained]
) -> None:
    created = history[0]
    lead = str(lead_of(app))
    as_dict = created.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["recorded_at"] == created.recorded_at
    assert without_time(as_dict) == {
        "position": created.position,
        "outcome": "created",
        "lead_id": lead,
        "identifier": "phone",
        "generation": 0,
        "raw_identifier": PHONE,
        "key": KEY,
        "reason": None,
        "message": None,
        "changes": {"phone": {"old": None, "new": KEY}, "name": {"old": None, "new": "A"}},
        "unchanged": [],
        "rejected": {},
        "ignored": {},
        "source": {"file": "a.jsonl", "line": 1},
    }
    assert created.why() == (
        f"created lead {lead}: phone '{PHONE}' normalized to key '{KEY}', "
        "which no lead held under generation 0"
    )


def test_an_explained_update_says_which_lead_held_the_key(
    app: Leadkey, history: list[DecisionExplained]
) -> None:
    updated = history[1]
    lead = str(lead_of(app))
    as_dict = updated.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert without_time(as_dict) == {
        "position": updated.position,
        "outcome": "updated",
        "lead_id": lead,
        "identifier": "phone",
        "generation": 0,
        "raw_identifier": "+91 99999 99999",
        "key": KEY,
        "reason": None,
        "message": None,
        "changes": {"name": {"old": "A", "new": "B"}},
        "unchanged": [],
        "rejected": {"email": updated.rejected["email"]},
        "ignored": {"x": "not a field of this workspace"},
        "source": None,
    }
    assert updated.rejected["email"].startswith("not a valid email address")
    assert updated.why() == (
        f"updated lead {lead}: phone '+91 99999 99999' normalized to key '{KEY}', "
        "which that lead held under generation 0"
    )


def explain_last_decision(app: Leadkey) -> DecisionExplained:
    """The decision just recorded (the batch's step follows it in the log)."""
    explained = app.explain_position(app._log.recorder.max_notification_id() - 1)
    assert explained is not None
    return explained


def test_an_explained_drop_gives_its_reason_and_message(app: Leadkey) -> None:
    app.create_workspace("w")
    app.ingest("w", {"fields": {"phone": " ", "name": "A"}}, source={"line": 7})
    dropped = explain_last_decision(app)
    as_dict = dropped.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert without_time(as_dict) == {
        "position": app._log.recorder.max_notification_id() - 1,
        "outcome": "dropped",
        "lead_id": None,
        "identifier": "phone",
        "generation": 0,
        "raw_identifier": " ",
        "key": None,
        "reason": "identifier_empty",
        "message": "identifier 'phone': the phone number is empty",
        "changes": {},
        "unchanged": [],
        "rejected": {},
        "ignored": {},
        "source": {"line": 7},
    }
    assert (
        dropped.why() == "dropped (identifier_empty): identifier 'phone': the phone number is empty"
    )


@pytest.mark.parametrize(
    "payload",
    [
        '{"fields": "x"}',
        '{"fields": ["phone"]}',
        '{"fields": null}',
        "[1, 2]",
        '"phone"',
        "{not json",
        '{"other": {"phone": "9999999999"}}',
    ],
)
def test_a_drop_without_a_fields_object_is_explained_without_an_identifier(
    app: Leadkey, payload: str
) -> None:
    app.create_workspace("w")
    decision = app.ingest("w", payload)
    assert decision.reason is DropReason.PAYLOAD_MALFORMED
    dropped = explain_last_decision(app)
    assert dropped.raw_identifier is None
    assert dropped.as_dict()["raw_identifier"] is None
    assert dropped.why() == f"dropped (payload_malformed): {decision.message}"


def test_a_drop_for_an_unknown_workspace_is_explained(app: Leadkey) -> None:
    app.ingest("nowhere", {"fields": {"phone": PHONE}}, drop_unknown=True)
    dropped = app.explain_position(app._log.recorder.max_notification_id())
    assert dropped is not None
    assert (dropped.identifier, dropped.raw_identifier) == (None, None)
    assert dropped.why() == "dropped (unknown_workspace): no such workspace"


# -- a divergence, as JSON -------------------------------------------------------------------


def test_a_divergence_keeps_numbers_and_nulls_and_spells_ids_as_text() -> None:
    lead = uuid4()
    divergence = Divergence(
        42,
        {
            "lead_id": (lead, None),
            "count": (1, 2),
            "flag": (True, False),
            "applied": ({"n": 1}, {}),
            "ignored": ([["x", "why"]], []),
            "reason": (None, "identifier_empty"),
        },
        NORMALIZER_VERSIONS,
    )
    as_dict = divergence.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict == {
        "position": 42,
        "kind": "log",
        "differences": {
            "lead_id": {"recorded": str(lead), "replayed": None},
            "count": {"recorded": 1, "replayed": 2},
            "flag": {"recorded": True, "replayed": False},
            "applied": {"recorded": {"n": 1}, "replayed": {}},
            "ignored": {"recorded": [["x", "why"]], "replayed": []},
            "reason": {"recorded": None, "replayed": "identifier_empty"},
        },
        "cause": "the log does not re-derive this decision",
    }


# -- the identifier index: where it stands in the log, and where it resumes -----------------


def every_kind_of_event(app: Leadkey) -> None:
    """A workspace's log with each kind of event the index handles or skips."""
    app.create_workspace("w", fields={"cid": "text"})  # WorkspaceCreated, SequenceStarted
    app.add_field("w", "deal_size", "number")  # FieldAdded, Stepped
    app.ingest("w", {"fields": {"phone": PHONE, "cid": "C-1"}})  # LeadCreated, Stepped
    app.ingest("w", {"fields": {"phone": "09999999999", "name": "A"}})  # LeadFieldsUpdated
    app.ingest("w", {"fields": {"name": "no phone"}})  # PayloadDropped (skipped), Stepped
    app.change_identifier("w", "cid")  # IdentifierChanged, Stepped
    app.ingest("w", {"fields": {"cid": "c-1", "deal_size": 3}})
    app.change_country("w", "US")  # DefaultCountryChanged, Stepped
    app.ingest("w", {"fields": {"phone": PHONE, "cid": "C-2"}})
    app.ingest("w", {"fields": {"cid": ""}})  # dropped: the last event before its step


EVENT_KINDS = {
    Workspace.WorkspaceCreated,
    Workspace.FieldAdded,
    Workspace.IdentifierChanged,
    Workspace.DefaultCountryChanged,
    DecisionSequence.SequenceStarted,
    DecisionSequence.Stepped,
    Lead.LeadCreated,
    Lead.LeadFieldsUpdated,
    DroppedPayload.PayloadDropped,
}


def snapshot(projection: IdentifierIndexProjection, app: Leadkey) -> tuple[Any, ...]:
    """Everything the index holds about workspace ``w``, and its position."""
    index = projection.view.workspace("w")
    assert isinstance(index, WorkspaceIndex)
    return (
        projection.position(app._log),
        index.config,
        dict(index.index),
        list(index.versions.items()),
        {field: dict(keys) for field, keys in index.candidates.items()},
        index.sequence,
        index.report,
    )


class CountingProjection(IdentifierIndexProjection):
    """An index that remembers the position of every event it is given."""

    def __init__(self) -> None:
        super().__init__(IndexView())
        self.seen: list[int] = []

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.seen.append(tracking.notification_id)
        super().process_event(domain_event, tracking)


@pytest.fixture
def logged(app: Leadkey) -> Leadkey:
    every_kind_of_event(app)
    return app


def test_the_index_stands_at_each_event_it_processed_whatever_its_kind(
    logged: Leadkey,
) -> None:
    projection = IdentifierIndexProjection(IndexView())
    assert projection.position(logged._log) == 0
    kinds = set()
    for event, position in read_log(logged._log):
        projection.process_event(event, Tracking(logged._log.name, position))
        assert projection.position(logged._log) == position, type(event).__qualname__
        kinds.add(type(event))
    assert kinds == EVENT_KINDS
    assert snapshot(projection, logged) == snapshot(index_at(logged._log), logged)


def test_the_application_index_stands_at_the_end_of_the_log(logged: Leadkey) -> None:
    logged.workspace("w")
    projection = logged._index.projection
    assert projection.position(logged._log) == logged._log.recorder.max_notification_id()


def test_the_index_never_processes_a_position_twice(logged: Leadkey) -> None:
    projection = index_at(logged._log)
    before = snapshot(projection, logged)
    for event, position in read_log(logged._log):
        with pytest.raises(IntegrityError):
            projection.process_event(event, Tracking(logged._log.name, position))
    assert snapshot(projection, logged) == before


@pytest.mark.parametrize("page", [1, 2, 3, 1000])
def test_catching_up_again_processes_only_the_new_events(logged: Leadkey, page: int) -> None:
    end = logged._log.recorder.max_notification_id()
    for middle in range(end + 1):
        projection = CountingProjection()
        assert projection.catch_up(logged._log, stop=middle, page=page) == middle
        assert projection.seen == list(range(1, middle + 1))
        assert projection.catch_up(logged._log, page=page) == end
        assert projection.seen == list(range(1, end + 1))  # each event once, in order
        assert snapshot(projection, logged) == snapshot(index_at(logged._log), logged)
        assert projection.catch_up(logged._log, page=page) == end
        assert projection.seen == list(range(1, end + 1))  # nothing new: nothing processed


def test_an_index_caught_up_in_two_steps_equals_one_caught_up_at_once(
    logged: Leadkey,
) -> None:
    whole = index_at(logged._log)
    first = logged._log.recorder.max_notification_id()
    logged.ingest("w", {"fields": {"cid": "C-3", "name": "later"}})
    logged.ingest("w", {"fields": {"cid": "c-3", "name": "later still"}})
    whole.catch_up(logged._log)
    assert whole.position(logged._log) == logged._log.recorder.max_notification_id() > first
    assert snapshot(whole, logged) == snapshot(index_at(logged._log), logged)
    index = whole.view.workspace("w")
    assert index is not None and list(index.versions.values())[-1] == 2


def test_a_workspace_index_starts_before_the_first_step_of_its_sequence() -> None:
    """Version 0: the workspace's first batch takes step 1 (SequenceStarted is step 1)."""
    projection = IdentifierIndexProjection(IndexView())
    created = Workspace.create("w").collect_events()[0]
    projection.process_event(created, Tracking("leadkey", 1))
    assert projection.view.workspace("w").sequence == 0  # type: ignore[union-attr]
