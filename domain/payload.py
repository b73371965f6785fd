"""A raw payload's text, read within leadkey's documented limits.

Every limit on a payload as a whole is a constant here, checked on the payload's text
the same way in every process, thread and stack depth (``MAX_FIELDS`` by the decision,
once the text is parsed; the lengths of identifier values in ``normalization``):
nothing a decision depends on comes from Python's recursion limit, its integer
string-conversion limit (``sys.set_int_max_str_digits``) or available memory.  A
payload past a limit is dropped with the limit's own reason (see ``DropReason``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from .errors import LeadkeyError
from .outcomes import DropReason

#: Largest payload, in bytes of its UTF-8 text.
MAX_PAYLOAD_BYTES = 1_048_576
#: Deepest nesting of JSON arrays and objects (the payload object itself is level 1).
MAX_DEPTH = 32
#: Most entries in a payload's ``fields`` object.
MAX_FIELDS = 1_000
#: Longest JSON number, in characters (sign, digits, point and exponent).
MAX_NUMBER_CHARS = 100

#: Starts the recorded text of a payload that was not Unicode text (invalid UTF-8,
#: unpaired surrogates); the rest shows it with backslash escapes.  No JSON starts so.
NOT_TEXT = "<not Unicode text> "
#: Starts the recorded text of a payload larger than :data:`MAX_PAYLOAD_BYTES`: its size
#: and SHA-256, then its first :data:`KEPT_CHARS` characters.  No JSON starts so.
TOO_LARGE = "<payload too large> "
KEPT_CHARS = 1_000

#: A :data:`TOO_LARGE` record as leadkey writes it (its size is read back from it).
_TOO_LARGE_RECORD = re.compile(
    re.escape(TOO_LARGE) + r"([1-9][0-9]{0,15}) bytes, sha256 [0-9a-f]{64}, starting: "
)
#: Strings (skipped; one left open runs to the end) and brackets: what nesting depends on.
_NESTING = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|[\[\]{}]')
#: A run of number characters long enough that a number might be too long.
_LONG_NUMBER = re.compile(f"[-+.eE0-9]{{{MAX_NUMBER_CHARS + 1},}}")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class PayloadRefused(LeadkeyError):
    """The payload's text is past a limit or not JSON, for ``reason``."""

    def __init__(self, reason: DropReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse(text: str) -> Any:
    """The JSON value of a payload's ``text``, or :class:`PayloadRefused` saying which limit
    it passes or why it is not JSON.  In this order: Unicode text (see :data:`NOT_TEXT`), size,
    nesting, then JSON syntax and number length as the parser meets them, left to right."""
    if text.startswith(NOT_TEXT):
        raise PayloadRefused(
            DropReason.PAYLOAD_MALFORMED,
            "not valid Unicode text (invalid UTF-8 or unpaired surrogates)",
        )
    size = size_past_limit(text)
    if size is not None:
        raise PayloadRefused(
            DropReason.PAYLOAD_TOO_LARGE,
            f"the payload is {size:,} bytes; the limit is {MAX_PAYLOAD_BYTES:,} bytes",
        )
    # brackets can only nest as deep as there are opening ones: most payloads stop here
    if text.count("[") + text.count("{") > MAX_DEPTH and (depth := nesting(text)) > MAX_DEPTH:
        raise PayloadRefused(
            DropReason.PAYLOAD_TOO_DEEP,
            f"arrays and objects nest {depth} levels deep; the limit is {MAX_DEPTH}",
        )
    try:
        if _LONG_NUMBER.search(text):  # rare: only then does each number get checked
            return json.loads(text, parse_int=_checked_int, parse_float=_checked_float)
        return json.loads(text)
    except ValueError as error:
        raise PayloadRefused(DropReason.PAYLOAD_MALFORMED, f"not valid JSON: {error}") from None


def size_past_limit(text: str) -> int | None:
    """The size of ``text`` in bytes of UTF-8 if it is more than :data:`MAX_PAYLOAD_BYTES`
    (for a :data:`TOO_LARGE` record, the size it records), else None."""
    record = _TOO_LARGE_RECORD.match(text) if text.startswith(TOO_LARGE) else None
    if record is not None and int(record.group(1)) > MAX_PAYLOAD_BYTES:
        return int(record.group(1))
    if len(text) * 4 <= MAX_PAYLOAD_BYTES:  # no character takes more than 4 bytes
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > MAX_PAYLOAD_BYTES else None


def nesting(text: str) -> int:
    """How deep arrays and objects nest in ``text``, counting brackets outside strings."""
    steps = (_STEP.get(token, 0) for token in _NESTING.findall(text))
    return max(accumulate(steps, initial=0))


def _checked_int(literal: str) -> int:
    _check_number(literal)
    return int(literal)  # at most MAX_NUMBER_CHARS digits: under any interpreter limit


def _checked_float(literal: str) -> float:
    _check_number(literal)
    return float(literal)


def _check_number(literal: str) -> None:
    if len(literal) > MAX_NUMBER_CHARS:
        raise PayloadRefused(
            DropReason.NUMBER_TOO_LONG,
            f"a number is {len(literal):,} characters long; the limit is {MAX_NUMBER_CHARS}",
        )


def record_text(text: str) -> str:
    """The text to record for a payload: ``text`` itself, or for one larger than
    :data:`MAX_PAYLOAD_BYTES` a :data:`TOO_LARGE` record of it (which :func:`parse`
    refuses the same way as the whole text).  A :data:`NOT_TEXT` record is kept whole:
    its size was checked on the bytes it escapes (see :func:`too_large`)."""
    if text.startswith(NOT_TEXT) or size_past_limit(text) is None:
        return text
    return too_large(text.encode("utf-8", "surrogatepass")) or text


def too_large(data: bytes) -> str | None:
    """The :data:`TOO_LARGE` record of a payload received as ``data``, if it is larger than
    :data:`MAX_PAYLOAD_BYTES`: its size, SHA-256 and first :data:`KEPT_CHARS` characters
    (bytes that are not UTF-8 shown with backslash escapes); else None."""
    if len(data) <= MAX_PAYLOAD_BYTES:
        return None
    start = data[: 4 * KEPT_CHARS].decode("utf-8", "backslashreplace")[:KEPT_CHARS]
    digest = hashlib.sha256(data).hexdigest()
    return f"{TOO_LARGE}{len(data)} bytes, sha256 {digest}, starting: {start}"


def dumps(value: Any, *, ensure_ascii: bool = False) -> str:
    """``json.dumps(value, ensure_ascii=ensure_ascii)``, whatever the stack depth and the
    interpreter's integer limits: where the C encoder gives up (nesting beyond the
    recursion limit, an integer beyond ``sys.get_int_max_str_digits()``) the same text
    is written without recursion.  Raises ``TypeError`` or ``ValueError`` (circular
    reference) as ``json.dumps`` does for what JSON cannot hold."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii)
    except (RecursionError, ValueError, TypeError):
        return "".join(_chunks(value, ensure_ascii))


def _chunks(value: Any, ensure_ascii: bool) -> Iterator[str]:
    """The JSON text of ``value`` in pieces, exactly as ``json.dumps``, with a stack of
    the arrays and objects being written instead of recursion."""
    encoder = json.encoder
    string = encoder.encode_basestring_ascii if ensure_ascii else encoder.encode_basestring
    open_ids: set[int] = set()
    #: (the rest of an enclosing array or object, its closing bracket, its id)
    stack: list[tuple[Iterator[tuple[str, Any]], str, int]] = []
    items: Iterator[tuple[str, Any]] = iter([("", value)])  # (text before it, item)
    closer, current = "", 0
    while True:
        for before, item in items:
            yield before
            if isinstance(item, str):
                yield string(item)
            elif item is None or isinstance(item, bool | int | float):
                yield _scalar(item)
            elif not isinstance(item, list | tuple | dict):
                raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
            elif not item:
                yield "{}" if isinstance(item, dict) else "[]"
            elif id(item) in open_ids:
                raise ValueError("Circular reference detected")
            else:
                open_ids.add(id(item))
                stack.append((items, closer, current))
                current = id(item)
                if isinstance(item, dict):
                    yield "{"
                    closer = "}"
                    items = (
                        ((", " if n else "") + string(_key(key)) + ": ", member)
                        for n, (key, member) in enumerate(item.items())
                    )
                else:
                    yield "["
                    closer = "]"
                    items = ((", " if n else "", member) for n, member in enumerate(item))
                break
        else:
            if not stack:
                return
            yield closer
            open_ids.discard(current)
            items, closer, current = stack.pop()


def _scalar(value: bool | int | float | None) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return _decimal(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


#: Digits converted at once: below the lowest limit Python allows (640).
_CHUNK = 600


def _decimal(number: int) -> str:
    """``str(number)`` without Python's limit on digits (it converts in chunks)."""
    if number.bit_length() < 1_900:  # fewer than 600 digits
        return str(number)
    sign, number = ("-", -number) if number < 0 else ("", number)
    chunks = []
    base = 10**_CHUNK
    while number:
        number, chunk = divmod(number, base)
        chunks.append(chunk)
    text = [str(chunks[-1])] + [str(chunk).zfill(_CHUNK) for chunk in reversed(chunks[:-1])]
    return sign + "".join(text)
