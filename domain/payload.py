"""A raw payload's text, read within leadkey's documented limits.

Every limit that can change a decision is a constant here, checked on the payload's
text by this module alone, the same way in every process, thread and stack depth:
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

_TOO_LARGE_SIZE = re.compile(r"(\d+) bytes")
#: Strings (skipped) and brackets, the tokens that nesting depends on.
_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
#: A run of number characters long enough that a number might be too long.
_LONG_NUMBER = re.compile(f"[-+.eE0-9]{{{MAX_NUMBER_CHARS + 1},}}")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class PayloadRefused(ValueError):
    """The payload's text is past a limit or not JSON; ``reason`` is a ``DropReason`` value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse(text: str) -> Any:
    """The JSON value of a payload's ``text``, or :class:`PayloadRefused` saying which limit
    it passes or why it is not JSON.  In this order: size, Unicode text (see :data:`NOT_TEXT`),
    nesting, JSON syntax and number length."""
    size = payload_bytes(text)
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadRefused(
            "payload_too_large",
            f"the payload is {size:,} bytes; the limit is {MAX_PAYLOAD_BYTES:,} bytes",
        )
    if text.startswith(NOT_TEXT):
        raise PayloadRefused(
            "payload_malformed", "not valid Unicode text (invalid UTF-8 or unpaired surrogates)"
        )
    # brackets can only nest as deep as there are opening ones: most payloads stop here
    if text.count("[") + text.count("{") > MAX_DEPTH and (depth := nesting(text)) > MAX_DEPTH:
        raise PayloadRefused(
            "payload_too_deep",
            f"arrays and objects nest {depth} levels deep; the limit is {MAX_DEPTH}",
        )
    try:
        if _LONG_NUMBER.search(text):  # rare: only then does each number get checked
            return json.loads(text, parse_int=_checked_int, parse_float=_checked_float)
        return json.loads(text)
    except PayloadRefused:
        raise
    except ValueError as error:
        raise PayloadRefused("payload_malformed", f"not valid JSON: {error}") from None


def payload_bytes(text: str) -> int:
    """The size of ``text`` in UTF-8 (of a :data:`TOO_LARGE` record: the size it records)."""
    if text.startswith(TOO_LARGE):
        match = _TOO_LARGE_SIZE.match(text, len(TOO_LARGE))
        if match:
            return int(match.group(1))
    if len(text) * 4 <= MAX_PAYLOAD_BYTES:  # no character takes more than 4 bytes
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


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
            "number_too_long",
            f"a number is {len(literal):,} characters long; the limit is {MAX_NUMBER_CHARS}",
        )


def record_text(text: str) -> str:
    """The text to record for a payload: ``text`` itself, or for one larger than
    :data:`MAX_PAYLOAD_BYTES` a :data:`TOO_LARGE` record of its size, SHA-256 and start
    (which :func:`parse` refuses the same way as the whole text)."""
    if len(text) * 4 <= MAX_PAYLOAD_BYTES:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_PAYLOAD_BYTES:
        return text
    digest = hashlib.sha256(data).hexdigest()
    return f"{TOO_LARGE}{len(data)} bytes, sha256 {digest}, starting: {text[:KEPT_CHARS]}"


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
    """The JSON text of ``value`` in pieces, iteratively, exactly as ``json.dumps``."""
    encoder = json.encoder
    string = encoder.encode_basestring_ascii if ensure_ascii else encoder.encode_basestring
    open_ids: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Close):
            open_ids.discard(item.of)
            yield item.text
        elif isinstance(item, _Text):
            yield item.text
        elif isinstance(item, str):
            yield string(item)
        elif item is None or isinstance(item, bool | int | float):
            yield _scalar(item)
        elif isinstance(item, list | tuple | dict):
            if id(item) in open_ids:
                raise ValueError("Circular reference detected")
            if not item:
                yield "{}" if isinstance(item, dict) else "[]"
                continue
            open_ids.add(id(item))
            parts: list[Any] = []
            if isinstance(item, dict):
                yield "{"
                for n, (key, member) in enumerate(item.items()):
                    parts += [_Text((", " if n else "") + string(_key(key)) + ": "), member]
                parts.append(_Close("}", id(item)))
            else:
                yield "["
                for n, member in enumerate(item):
                    parts += [_Text(", "), member] if n else [member]
                parts.append(_Close("]", id(item)))
            stack.extend(reversed(parts))
        else:
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Close(_Text):
    __slots__ = ("of",)

    def __init__(self, text: str, of: int) -> None:
        super().__init__(text)
        self.of = of


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
