"""Events written and read with orjson: the same stored JSON as eventsourcing's own
``JSONTranscoder``, so stores written before and after read alike with either."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.adapters.transcoding import OrjsonTranscoder
from leadkey.adapters.views import Submission
from leadkey.domain.errors import InvalidArgument

STDLIB = "eventsourcing.persistence:JSONTranscoder"


def transcoder(cls: type[JSONTranscoder]) -> JSONTranscoder:
    made = cls()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        made.register(transcoding)
    return made


plain, fast = transcoder(JSONTranscoder), transcoder(OrjsonTranscoder)

#: JSON values as payloads carry them (no floats: the two libraries spell some apart).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
transcoded = (
    st.uuids()
    | st.datetimes(timezones=st.just(UTC))
    | st.decimals(allow_nan=False, allow_infinity=False)
)
#: An event's state: its own attributes may be transcoded values, its dicts hold JSON.
states = st.dictionaries(st.text(), transcoded | json_values, max_size=8)


@settings(max_examples=500)
@given(states)
def test_an_event_is_written_byte_for_byte_as_the_standard_library_writes_it(
    state: dict[str, Any],
) -> None:
    assert fast.encode(state) == plain.encode(state)
    assert fast.decode(plain.encode(state)) == plain.decode(plain.encode(state)) == state


@settings(max_examples=300)
@given(json_values, st.floats(allow_nan=False, allow_infinity=False))
def test_what_either_writes_the_other_reads_as_the_same_values(value: Any, number: float) -> None:
    state = {"value": value, "number": number}
    for written in (fast.encode(state), plain.encode(state)):
        assert fast.decode(written) == plain.decode(written) == state


@pytest.mark.parametrize(
    "state",
    [
        {"huge": 2**64, "at": datetime(2026, 1, 1, tzinfo=UTC)},  # past orjson's integers
        {"huge": [-(2**63) - 1, 7 * 10**99], "small": -(2**63)},
        {"nan": math.nan, "number": 1.5},  # orjson would write null
        {"keys": {1: "a", None: "b"}},  # keys that are not strings
        {"inside": [uuid4(), {"at": datetime(2026, 1, 1, tzinfo=UTC)}]},  # transcoded within
        {"inside": {"amount": Decimal("1.5")}, "at": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_what_orjson_would_write_its_own_way_is_written_by_the_standard_library(
    state: dict[str, Any],
) -> None:
    written = fast.encode(state)
    assert written == plain.encode(state)
    decoded = fast.decode(written)
    assert decoded == plain.decode(written)
    if not any(isinstance(v, float) and math.isnan(v) for v in state.values()):
        assert decoded == plain.decode(plain.encode(state))


def test_a_tag_written_by_hand_deep_inside_is_read_as_the_standard_library_reads_it() -> None:
    written = b'{"a":{"b":{"_type_":"uuid_hex","_data_":"' + uuid4().hex.encode() + b'"}}}'
    assert isinstance(fast.decode(written)["a"]["b"], UUID)
    assert fast.decode(written) == plain.decode(written)
    text = b'{"payload":"{\\"_type_\\": 1}","at":{"_type_":"uuid_hex","_data_":"' + (
        uuid4().hex.encode() + b'"}}'
    )
    assert fast.decode(text) == plain.decode(text)


def test_a_source_with_a_number_that_is_not_json_is_refused() -> None:
    for number in (math.nan, math.inf, -math.inf):
        with pytest.raises(InvalidArgument, match="finite"):
            Submission("{}", {"line": number})


PAYLOADS = [
    {"fields": {"phone": "+91 99999 99991", "name": "Ann", "email": "Ann@X.com"}},
    {"fields": {"phone": "099999 99991", "rating": 4, "name": "Ann B"}},
    {"fields": {"phone": "12345"}},
    {"fields": {"phone": "9999999992", "tags": ["a", "b"], "email": "b@x.com"}, "actions": [1]},
]


@pytest.mark.parametrize("first, then", [(STDLIB, None), (None, STDLIB)])
def test_a_store_written_with_either_transcoder_replays_and_verifies_with_the_other(
    tmp_path: Path, first: str | None, then: str | None
) -> None:
    store = f"sqlite:///{tmp_path}/store.db"
    env = {"TRANSCODER_TOPIC": first} if first else {}
    with_env = Leadkey(store, env)
    with_env.create_workspace("w", country="IN", fields={"rating": "rating", "tags": "tags"})
    token, _ = with_env.create_token("w", "async", "forms")
    recorded = [
        with_env.ingest("w", p, source={"file": "f", "line": n}, key=f"k{n}")
        for n, p in enumerate(PAYLOADS)
    ]
    with_env.change_identifier("w", "email")
    with_env.close()

    other = Leadkey(store, {"TRANSCODER_TOPIC": then} if then else {})
    report = other.replay("w")
    assert report.verified and sum(report.decisions.values()) == len(PAYLOADS)
    assert [d.lead_id for d in (other.explain_decision("w", r.position) for r in recorded)] == [
        r.lead_id for r in recorded
    ]
    assert [t.token_id for t in other.tokens("w")] == [token.token_id]
    assert other.ingest("w", PAYLOADS[0], key="k0").repeated
    other.close()
