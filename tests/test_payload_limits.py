"""Payload limits: every limit a decision depends on is leadkey's own constant, checked the
same way in-process, in a thread, at any stack depth, under any integer-string limit, in a
worker process and by replay."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.domain.decisions import Decision, DropReason, MatchConfig, Outcome, decide
from leadkey.domain.payload import (
    MAX_DEPTH,
    MAX_FIELDS,
    MAX_NUMBER_CHARS,
    MAX_PAYLOAD_BYTES,
    TOO_LARGE,
    dumps,
    record_text,
)

T = TypeVar("T")
PHONE = "9811200977"


def _config() -> MatchConfig:
    return Leadkey("memory:").create_workspace("w", fields={"n": "number"}).config


CONFIG = _config()


def _decide(text: str) -> Decision:
    return decide(CONFIG, text, lambda _key: None)


def _body(actions: str = "[]", extra: str = "") -> str:
    return f'{{"fields": {{"phone": "{PHONE}"{extra}}}, "actions": {actions}}}'


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _numbers(count: int) -> str:
    return "".join(f', "f{n}": 1' for n in range(count))


def _padded(size: int) -> str:
    """A payload of exactly ``size`` bytes of UTF-8 (multi-byte characters included)."""
    base = _body(extra=', "name": "é"')
    pad = size - len(base.encode())
    assert pad >= 0
    return base.replace('"é"', '"é' + "x" * pad + '"')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_padded(MAX_PAYLOAD_BYTES), None),
        (_padded(MAX_PAYLOAD_BYTES + 1), DropReason.PAYLOAD_TOO_LARGE),
        (_body(_nested(MAX_DEPTH - 1)), None),  # the payload object is level 1
        (_body(_nested(MAX_DEPTH)), DropReason.PAYLOAD_TOO_DEEP),
        (_body('["' + "[" * 500 + '"]'), None),  # brackets in strings do not nest
        (_body('["\\"' + "[" * 500 + '"]'), None),  # ... after an escaped quote too
        (_body('["' + "[" * 500), DropReason.PAYLOAD_MALFORMED),  # nor in one left open
        (_body(extra=', "x": 1' * (2 * MAX_FIELDS)), None),  # one field, named 2000 times
        (_body("[" + ", ".join(["[]"] * 500) + "]"), None),  # many, but side by side
        (_body(extra=', "n": ' + "9" * MAX_NUMBER_CHARS), None),
        (_body(extra=', "n": ' + "9" * (MAX_NUMBER_CHARS + 1)), DropReason.NUMBER_TOO_LONG),
        (_body(extra=', "n": 1.' + "5" * (MAX_NUMBER_CHARS - 1)), DropReason.NUMBER_TOO_LONG),
        (_body("[" + "1" * 5000 + "]"), DropReason.NUMBER_TOO_LONG),  # in actions too
        (_body(extra=', "name": "' + "9" * 5000 + '"'), None),  # digits in a string: text
        (_body(extra=_numbers(MAX_FIELDS - 1)), None),
        (_body(extra=_numbers(MAX_FIELDS)), DropReason.TOO_MANY_FIELDS),
    ],
)
def test_each_limit_holds_at_its_constant(text: str, reason: DropReason | None) -> None:
    decision = _decide(text)
    assert decision.reason is reason
    assert decision.outcome is (Outcome.CREATED if reason is None else Outcome.DROPPED)
    if reason not in (None, DropReason.PAYLOAD_MALFORMED):
        assert "limit" in decision.message
        assert "set_int_max_str_digits" not in decision.message


DIGEST = "0" * 64


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{TOO_LARGE}2000000 bytes, sha256 {DIGEST}, starting: {{", DropReason.PAYLOAD_TOO_LARGE),
        (f"{TOO_LARGE}{MAX_PAYLOAD_BYTES} bytes, sha256 {DIGEST}, starting: {{", None),
        (f"{TOO_LARGE}{'9' * 5000} bytes, sha256 {DIGEST}, starting: {{", None),
        (f"{TOO_LARGE}2000000 bytes, sha256 x, starting: {{", None),
    ],
)
def test_only_a_well_formed_record_of_a_large_payload_reads_as_one(
    text: str, reason: DropReason | None
) -> None:
    """A text that looks like leadkey's record of a payload too large is read as one only
    when it has the record's form and a size past the limit; else it is not JSON."""
    decision = _same_everywhere(text)
    assert decision.reason is (reason or DropReason.PAYLOAD_MALFORMED)


def test_a_huge_integer_names_leadkeys_limit_not_pythons() -> None:
    decision = _decide(_body(extra=', "n": ' + "9" * 5000))
    assert decision.message == "a number is 5,000 characters long; the limit is 100"


def test_the_reported_case_deep_actions_is_dropped_the_same_everywhere(sqlite_url: str) -> None:
    deep = _body("[" + _nested(977) + "]")  # as the issue reported it
    app = Leadkey(sqlite_url)
    app.create_workspace("w")
    [alone] = app.ingest_many("w", [deep])
    assert alone.reason is DropReason.PAYLOAD_TOO_DEEP
    assert alone.message == "arrays and objects nest 979 levels deep; the limit is 32"
    assert app.replay("w").exact
    app.close()


def _at_stack_margin(margin: int, call: Callable[[], T]) -> T:
    """``call()`` with only about ``margin`` frames left before the recursion limit."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    missing = sys.getrecursionlimit() - depth - margin

    def down(n: int) -> T:
        return call() if n <= 0 else down(n - 1)

    return down(missing)


def _in_thread(call: Callable[[], T]) -> T:
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    thread.join()
    return result[0]


def _under_int_limit(limit: int, call: Callable[[], T]) -> T:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        return call()
    finally:
        sys.set_int_max_str_digits(before)


@st.composite
def hostile_payloads(draw: st.DrawFn) -> str:
    """Payload texts around every limit: nesting 0-5000 in actions or in a field, long
    numbers, many fields, and sizes up to the limit and past it."""
    depth = draw(st.one_of(st.integers(0, 40), st.integers(0, 5000)))
    digits = draw(st.sampled_from([0, 1, MAX_NUMBER_CHARS, MAX_NUMBER_CHARS + 1, 4301, 6000]))
    fields = draw(st.sampled_from([0, 3, MAX_FIELDS - 3, MAX_FIELDS + 1]))
    extra = "".join(f', "x{n}": "v"' for n in range(fields))
    if digits:
        extra += f', "n": {draw(st.sampled_from(["", "-"]))}{"7" * digits}'
    if draw(st.booleans()):
        extra += f', "name": {_nested(depth)}'
        text = _body(extra=extra)
    else:
        text = _body(_nested(depth), extra)
    size = draw(st.sampled_from([None, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES + 1]))
    pad = ', "pad": ""'
    if size is not None and len(text.encode()) + len(pad) <= size:
        filler = "p" * (size - len(text.encode()) - len(pad))
        text = text.replace(f'"{PHONE}"', f'"{PHONE}", "pad": "{filler}"')
    return text


def _same_everywhere(text: str) -> Decision:
    decision = _decide(text)
    assert _in_thread(lambda: _decide(text)) == decision
    assert _under_int_limit(640, lambda: _decide(text)) == decision
    assert _under_int_limit(0, lambda: _decide(text)) == decision
    for margin in (60, 200):
        # no room to decide at all is an error, never another decision
        with contextlib.suppress(RecursionError):
            assert _at_stack_margin(margin, lambda: _decide(text)) == decision
    return decision


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_payloads())
def test_a_decision_never_depends_on_thread_stack_or_interpreter_limits(text: str) -> None:
    _same_everywhere(text)


def test_near_the_recursion_limit_leadkey_raises_rather_than_decides_otherwise() -> None:
    text = _body(_nested(MAX_DEPTH - 1))
    expected = _decide(text)
    outcomes = set()
    for margin in range(1, 120, 3):
        try:
            outcomes.add(_at_stack_margin(margin, lambda: _decide(text)) == expected)
        except RecursionError:
            outcomes.add("raised")
    assert outcomes <= {True, "raised"}
    assert True in outcomes


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_payloads(), min_size=8, max_size=12))
def test_a_store_and_its_replay_decide_as_memory_does(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'leadkey.db'}"
    in_memory, stored = Leadkey("memory:"), Leadkey(url)
    for app in (in_memory, stored):
        app.create_workspace("w", fields={"n": "number"})
    expected = list(in_memory.ingest_many("w", texts, batch_size=3))
    got = list(stored.ingest_many("w", texts, batch_size=3))
    assert got == expected  # (decisions compare without their positions and times)
    stored.close()
    reopened = Leadkey(url)  # (its events read back from the file)
    report = reopened.replay("w")
    assert report.exact, report.divergences
    assert sum(report.decisions.values()) == len(texts)
    reopened.close()


def _deep_object(depth: int) -> Any:
    value: Any = {"fields": {"phone": PHONE}}
    inner: list[Any] = []
    value["actions"] = inner
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return value


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (_deep_object(5000), DropReason.PAYLOAD_TOO_DEEP),
        ({"fields": {"phone": PHONE, "n": 10**5000}}, DropReason.NUMBER_TOO_LONG),
        ({"fields": {"phone": PHONE, "x": "x" * MAX_PAYLOAD_BYTES}}, DropReason.PAYLOAD_TOO_LARGE),
    ],
)
def test_python_objects_past_a_limit_are_recorded_and_replayed(
    sqlite_url: str, payload: Any, reason: DropReason
) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace("w", fields={"n": "number"})
    decision = app.ingest("w", payload)
    assert decision.reason is reason
    assert len(decision.payload.encode()) <= MAX_PAYLOAD_BYTES
    assert app.replay("w").exact
    app.close()


def test_a_payload_too_large_is_recorded_by_size_digest_and_start() -> None:
    text = _padded(3 * MAX_PAYLOAD_BYTES)
    recorded = record_text(text)
    assert recorded.startswith(f"{TOO_LARGE}{len(text.encode())} bytes, sha256 ")
    assert recorded.endswith(text[:1000])
    whole, abbreviated = _decide(text), _decide(recorded)
    assert abbreviated.reason is whole.reason is DropReason.PAYLOAD_TOO_LARGE
    assert abbreviated.message == whole.message
    assert record_text(_padded(MAX_PAYLOAD_BYTES)) == _padded(MAX_PAYLOAD_BYTES)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**700, max_value=10**900)
    | st.floats()
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text() | st.integers() | st.booleans() | st.none(), children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(json_values, st.booleans())
def test_dumps_writes_what_json_dumps_writes(value: Any, ascii_only: bool) -> None:
    expected = _under_int_limit(0, lambda: json.dumps(value, ensure_ascii=ascii_only))
    assert _under_int_limit(640, lambda: dumps(value, ensure_ascii=ascii_only)) == expected
    assert _at_stack_margin(30, lambda: dumps(value, ensure_ascii=ascii_only)) == expected


@given(st.integers(0, 3000))
def test_dumps_of_deep_nesting_needs_no_stack(depth: int) -> None:
    assert dumps(_deep_object(depth)["actions"]) == _nested(depth + 1)


def test_dumps_refuses_what_json_refuses() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"a": [{1, 2}]})
    with pytest.raises(TypeError, match="keys must be"):
        dumps({(1,): 1})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # 300,000 bytes of Latin-1: not UTF-8, and its escaped record is 1.2 MB of text
        (b'{"fields": {"name": "' + b"\xe9" * 300_000 + b'"}}', DropReason.PAYLOAD_MALFORMED),
        (b"\xe9" * (MAX_PAYLOAD_BYTES + 1), DropReason.PAYLOAD_TOO_LARGE),
        ("\ud800" * 400_000, DropReason.PAYLOAD_TOO_LARGE),  # 3 bytes each, as received
        # a record's form with a small size does not hide the text's own size
        (
            f"{TOO_LARGE}5 bytes, sha256 {DIGEST}, starting: " + "x" * 2 * MAX_PAYLOAD_BYTES,
            DropReason.PAYLOAD_TOO_LARGE,
        ),
    ],
)
def test_the_size_limit_is_on_the_payload_as_received(
    sqlite_url: str, payload: object, reason: DropReason
) -> None:
    app = Leadkey(sqlite_url)
    app.create_workspace("w")
    decision = app.ingest("w", payload)
    assert decision.reason is reason
    assert len(decision.payload) <= 4 * MAX_PAYLOAD_BYTES
    assert reason is not DropReason.PAYLOAD_TOO_LARGE or decision.payload.startswith(TOO_LARGE)
    assert app.replay("w").exact
    app.close()
