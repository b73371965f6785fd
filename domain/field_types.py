"""Lead field types and the rule each one applies to an incoming value.

A value either *fits* its field's type (and is stored in canonical form, with a
matching key when the type can serve as the lead identifier) or is *rejected* with a
reason.  ``null`` means "not supplied" and is handled by the caller.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import LeadkeyError, UnusableValue
from .normalization import email_key, fold_text, is_blank, phone_key


class FieldType(StrEnum):
    """The field types a workspace can define (telecrm's lower-case names)."""

    TEXT = "text"
    PHONE = "phone"
    EMAIL = "email"
    NUMBER = "number"
    DATE = "date"
    DROPDOWN = "dropdown"
    TAGS = "tags"
    MONEY = "money"
    WEBSITE = "website"
    MEDIALINK = "medialink"
    RATING = "rating"


#: Types a workspace may choose as its lead identifier.
IDENTIFIER_TYPES = frozenset({FieldType.PHONE, FieldType.EMAIL, FieldType.TEXT})
#: Fields every workspace has from the start.
STANDARD_FIELDS: dict[str, FieldType] = {
    "name": FieldType.TEXT,
    "phone": FieldType.PHONE,
    "email": FieldType.EMAIL,
}
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MONEY = re.compile(r"^\d+(?:\.\d+)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})(?: (\d{2}):(\d{2}):(\d{2}))?$")


class FieldRejected(LeadkeyError, ValueError):
    """A value does not fit its field's type; the message says why."""


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A value that fits its type: what to store, and its matching key if it has one."""

    stored: Any
    key: str | None = None


def parse_field_type(name: str) -> FieldType:
    """Return the :class:`FieldType` called ``name``, or raise ``ValueError``."""
    try:
        return FieldType(name)
    except ValueError:
        known = ", ".join(t.value for t in FieldType)
        raise ValueError(f"unknown field type {name!r} (known: {known})") from None


def check_api_name(api_name: str) -> str:
    """Return ``api_name`` if it is a valid field API name, else raise ``ValueError``."""
    if not isinstance(api_name, str) or not _API_NAME.match(api_name):
        raise ValueError(
            f"invalid field API name {api_name!r}: use a letter, then letters, digits "
            "or underscores (at most 64)"
        )
    return api_name


def check_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA time zone, else raise ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def coerce(field_type: FieldType, raw: Any, *, country: str, timezone: str) -> FieldValue:
    """Check ``raw`` against ``field_type``; return the value to store or raise
    :class:`FieldRejected`."""
    try:
        return _COERCERS[field_type](raw, country, timezone)
    except FieldRejected:
        raise
    except UnusableValue as error:
        raise FieldRejected(error.reason) from None
    except (ValueError, OverflowError) as error:  # e.g. a malformed URL, a date out of range
        raise FieldRejected(f"not a valid {field_type} value: {error}") from None


def _is_number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _text(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, str):
        raise FieldRejected("expected a string")
    return FieldValue(raw, None if is_blank(raw) else fold_text(raw))


def _phone(raw: Any, country: str, _tz: str) -> FieldValue:
    key = phone_key(raw, country)
    return FieldValue(key, key)


def _email(raw: Any, _country: str, _tz: str) -> FieldValue:
    value = email_key(raw)
    return FieldValue(value.display, value.key)


def _number(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not _is_number(raw) or (isinstance(raw, float) and not math.isfinite(raw)):
        raise FieldRejected("expected a JSON number")
    return FieldValue(raw)


def _date(raw: Any, _country: str, timezone: str) -> FieldValue:
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:  # in integers: a float of milliseconds loses the last one on large values
            moment = _EPOCH + timedelta(milliseconds=raw)
        except (OverflowError, ValueError):
            raise FieldRejected("epoch milliseconds out of range") from None
    elif isinstance(raw, str) and (match := _DATE.match(raw)):
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(timezone))
        except ValueError as error:
            raise FieldRejected(f"not a calendar date: {error}") from None
        moment = local.astimezone(UTC)
    else:
        raise FieldRejected(
            "expected epoch milliseconds (a JSON integer) or 'DD/MM/YYYY[ HH:mm:ss]'"
        )
    return FieldValue(moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _label(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, str) or not raw.strip():
        raise FieldRejected("expected a non-empty string label")
    return FieldValue(raw)


def _tags(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, list) or not all(isinstance(tag, str) and tag for tag in raw):
        raise FieldRejected("expected an array of non-empty strings")
    return FieldValue(list(dict.fromkeys(raw)))


def _money(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, str) or not _MONEY.match(raw):
        raise FieldRejected('expected a numeric string such as "1000" or "99.50"')
    return FieldValue(raw)


def _url(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, str):
        raise FieldRejected("expected a URL string")
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FieldRejected("expected an http(s) URL")
    return FieldValue(raw.strip())


def _rating(raw: Any, _country: str, _tz: str) -> FieldValue:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 5:
        raise FieldRejected("Rating must be between 1 and 5")
    return FieldValue(raw)


_COERCERS = {
    FieldType.TEXT: _text,
    FieldType.PHONE: _phone,
    FieldType.EMAIL: _email,
    FieldType.NUMBER: _number,
    FieldType.DATE: _date,
    FieldType.DROPDOWN: _label,
    FieldType.TAGS: _tags,
    FieldType.MONEY: _money,
    FieldType.WEBSITE: _url,
    FieldType.MEDIALINK: _url,
    FieldType.RATING: _rating,
}
